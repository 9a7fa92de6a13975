"""``python -m mockserver``: the command line (``serve/cli.py``)."""

import sys

from .serve.cli import main

sys.exit(main())
