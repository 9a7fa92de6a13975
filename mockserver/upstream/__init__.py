"""The upstream behind ``--proxy-to URL``: the mock as a validating, recording proxy.

``python -m mockserver --proxy-to https://gateway.example/v1`` answers every
create request the scenarios, recordings and your own sources leave
unanswered by forwarding it to the real gateway (``sources/proxy.py``, in
place of the generator), and forwards the other ``/v1`` routes as they are
(``http/forward.py``). Three modules:

- ``client.py``: one HTTP client for the upstream, the key it is sent with,
  the headers passed each way, and an unreachable or slow upstream as the
  profile's 502/504;
- ``tap.py``: what every proxied exchange passes through: recorded with the
  kit's one writer (``schemas.recording``, redacted before it is written)
  and judged with the suite's checks (``schemas.checks``) at the suite's
  levels (``schemas/levels.json``);
- ``verdicts.py``: the violations found, counted for ``/__mock__/health`` and
  listed on the inspector page.
"""
