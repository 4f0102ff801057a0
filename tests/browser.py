"""Headless Debian Chromium driven by Playwright, for the page tests (serve, report).

    from tests.browser import chromium_page, require_chromium
    with chromium_page(tmp_path) as page:
        page.goto(url)

Uses the system browser at /usr/bin/chromium (installed by `make chromium`, which
`make test` runs), never Playwright's own download: `playwright install` is not needed.
Screenshots worth keeping go to `tests/artifacts/` (git-ignored; see `artifact_path`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("DENSEFIT_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium() -> None:
    """Skip (with the fix) when the system Chromium is missing; `make test` installs it."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not found: run `make chromium` (apt-get install -y chromium, as root)")


def artifact_path(name: str) -> Path:
    """A path under tests/artifacts/ for a file the test run keeps (screenshots)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


@contextlib.contextmanager
def chromium_context(width: int = 1280, height: int = 900) -> Iterator:
    """A Playwright BrowserContext of headless Chromium with a fresh, throw-away user-data dir."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="densefit-chromium-")
    try:
        with sync_playwright() as p:
            # Playwright passes --user-data-dir itself for a persistent context: this one is fresh each time.
            context = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": width, "height": height})
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@contextlib.contextmanager
def chromium_page(width: int = 1280, height: int = 900) -> Iterator:
    """One page in a fresh headless Chromium; console errors are collected in `page.console_errors`."""
    with chromium_context(width, height) as context:
        page = context.pages[0] if context.pages else context.new_page()
        page.console_errors = []
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
        yield page
