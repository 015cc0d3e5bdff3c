"""The documentation site builds in strict mode — a broken link or anchor, a missing page, a page
left out of the navigation fails — and the pages it builds load nothing from the network."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.engine

# <link href> and <script src> (what a browser loads with the page) must stay on the site.
LOADED = re.compile(r"<(?:link|script)\b[^>]*\b(?:href|src)=\"([^\"]+)\"")


def test_the_site_builds_strict_and_offline(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           "PYTHONDONTWRITEBYTECODE": "1"}  # the hook in scripts/ leaves no __pycache__ there
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(site)], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    pages = list(site.rglob("*.html"))
    reference = (site / "reference" / "cli.html").read_text()
    assert reference.count("flexor deploy") > 1 and "Sentinel" not in reference
    external = {(page.relative_to(site).as_posix(), url) for page in pages
                for url in LOADED.findall(page.read_text()) if re.match(r"(https?:)?//", url)}
    assert external == set()
