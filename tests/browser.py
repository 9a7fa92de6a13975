"""Headless Chromium for the tests that look at a page as a person would (the inspector, the HTML report).

Playwright drives the system's Chromium (Debian's ``chromium``, installed by
``.ci/run`` where it can be, as it does redis-server); nothing downloads a
browser. Where Chromium or Playwright is missing, the tests skip and say so.
The flags are those that work on a machine without a network: no sandbox (we
run as root), no GPU, and no background networking, component updates or
sync, which would otherwise try to reach Google's hosts at every start.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: Where Debian's chromium package puts the browser; CHROMIUM overrides it.
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
#: Where the tests save their screenshots; README's, in docs/screenshots/, are made with
#: ``SCREENSHOT_DIR=docs/screenshots .venv/bin/python -m pytest tests/test_inspector.py tests/test_html_reports.py``.
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/responses-contract-screenshots"))


def chromium_path() -> str | None:
    """The system's Chromium, or None."""
    wanted = os.environ.get("CHROMIUM")
    candidates = [wanted] if wanted else [*CHROMIUM_PATHS, shutil.which("chromium") or ""]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium (module-wide: starting one costs a second or two)."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium: install Debian's chromium package (apt-get install chromium; .ci/run does it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (it is in the kit's test extra: pip install -e '.[test]')")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, headless=True, args=list(FLAGS))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (its own context: no cookies or credentials carried over)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save what a person sees (the window, as scrolled) as ``SCREENSHOTS/name.png`` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
