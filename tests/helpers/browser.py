"""Debian's Chromium driven by Playwright for the console's browser tests (scripts/setup
installs it; `playwright install` is never run): skipped, saying why, where it is absent."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium, or the test skipped when the machine has none."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: the console's browser tests need Debian's "
                    "`chromium` package (scripts/setup installs it as root with apt)")
    from playwright.sync_api import sync_playwright

    # Chromium's singleton socket lives in its profile under TMPDIR, and a socket's path is at
    # most 107 bytes: a test's TMPDIR (under its tmp_path) is too deep for it.
    with tempfile.TemporaryDirectory(prefix="cr-", dir="/tmp") as short, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS,
                                             env={**os.environ, "TMPDIR": short})
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Page, address: str, key: str) -> None:
    """Sign in through the console's form."""
    page.goto(f"{address}/signin")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def csrf_of(page: Page) -> str:
    """The session's CSRF token, as the page's forms carry it."""
    return page.locator("input[name=csrf]").first.get_attribute("value") or ""
