-- wrk script: POST the body read from the file named by the first script
-- argument, with the documented request's headers; print one JSON line at
-- the end (bench/wrk.py parses it).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "sk-bench"

function init(args)
   if args[1] then
      local f = assert(io.open(args[1], "rb"))
      wrk.body = f:read("*a")
      f:close()
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '\nBENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
