"""Benchmarks of the mock against a same-server baseline: ``python -m bench`` (``make bench``).

Each run starts the mock (``python -m mockserver --quiet``) and a baseline (a
minimal Flask app on the same waitress settings, answering a fixed body of the
mock's reply size) on free loopback ports, measures both in the same run with
wrk and a small SSE client, and writes ``bench/results/latest.md``.
"""
