"""Benchmarks of the mock against its peers: ``python -m bench`` (``make bench``).

Each run starts the mock (``python -m mockserver``: ``--workers 2 --quiet``,
with logging on, and one worker), a minimal Flask app answering the mock's own
reply bytes under gunicorn (gthread, 2 workers × 8 threads), Steady and aimock
(npm packages, installed into a cache folder when npm is there) on free
loopback ports, measures them in interleaved rounds with wrk and a small SSE
client, and writes ``bench/results/latest.md``: medians, ratios, the targets.
"""
