-- wrk script: POST the body read from the file named by the first script
-- argument, with the documented request's headers; print one JSON line at
-- the end (bench/wrk.py parses it).
--
-- BENCH_DISTINCT=1 in the environment makes every request differ (a counter
-- in "metadata"), so nothing the server remembers about a body can be reused.
-- The reply text does not depend on metadata, so replies keep their size.
-- (An environment variable, not a script argument: wrk decides whether a
-- script builds each request before it passes the arguments; without
-- request() it sends one prepared request, as cheaply as it can.)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"

local prefix, suffix
local counter = 0
local thread_id = 0
local created = 0

function setup(thread)
   created = created + 1
   thread:set("thread_id", created)
end

function init(args)
   local f = assert(io.open(args[1], "rb"))
   local body = f:read("*a")
   f:close()
   wrk.body = body
   -- the body is a JSON object: open it and add a first member
   prefix = '{"metadata":{"bench":"'
   suffix = '"},' .. string.sub(body, 2)
end

if os.getenv("BENCH_DISTINCT") == "1" then
   function request()
      counter = counter + 1
      return wrk.format(nil, nil, nil, prefix .. thread_id .. "-" .. counter .. suffix)
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '\nBENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
