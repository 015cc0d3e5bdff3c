"""MkDocs hook (mkdocs.yml `hooks:`): the navigation's "Decisions" section lists every
docs/decisions/*.md in order, so a new decision record is a page without editing mkdocs.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SECTION = "Decisions"


def on_config(config: Any) -> Any:
    """Fill the empty `Decisions: []` section of the navigation from docs/decisions/."""
    records = sorted(Path(config["docs_dir"], "decisions").glob("[0-9]*.md"))
    pages = [f"decisions/{record.name}" for record in records]
    if not _fill(config["nav"], pages):
        raise ValueError(f"mkdocs.yml's nav has no `{SECTION}: []` section to fill")
    return config


def _fill(nav: list[Any], pages: list[str]) -> bool:
    """Put `pages` into the first `{SECTION: []}` entry of `nav` (at any depth)."""
    for entry in nav:
        if not isinstance(entry, dict):
            continue
        for title, value in entry.items():
            if title == SECTION and value == []:
                entry[title] = pages
                return True
            if isinstance(value, list) and _fill(value, pages):
                return True
    return False
