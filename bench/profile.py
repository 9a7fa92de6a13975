"""``python -m bench.profile``: where the create path spends its time (pyinstrument).

Posts the documented request to the in-process mock (Flask test client) a few
thousand times under pyinstrument and prints the call tree; ``--distinct``
makes every body different (nothing remembered by body can help);
``--stream`` profiles streamed creates instead.
"""

from __future__ import annotations

import argparse
import json
import sys

from .measures import AUTH, documented


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--distinct", action="store_true", help="a different body every time")
    p.add_argument("--stream", action="store_true", help="streamed creates")
    p.add_argument("--profile", default="gateway", choices=("gateway", "openai"))
    args = p.parse_args(argv)
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("bench.profile: pyinstrument is not installed (pip install pyinstrument)", file=sys.stderr)
        return 2
    from mockserver import create_app

    client = create_app(profile=args.profile, log_requests=False).test_client()
    request = {**documented("documented_request.json"), "stream": args.stream}
    bodies = [
        json.dumps({**request, "metadata": {"n": str(i)}} if args.distinct else request).encode()
        for i in range(args.requests)
    ]
    for body in bodies[:200]:  # warm-up
        client.post("/v1/responses", data=body, headers=AUTH).get_data()
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for body in bodies:
        client.post("/v1/responses", data=body, headers=AUTH).get_data()
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
