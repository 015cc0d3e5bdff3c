"""MkDocs hooks (mkdocs.yml `hooks:`).

* The navigation's "Decisions" section lists every docs/decisions/*.md in order, so a new
  decision record is a page without editing mkdocs.yml.
* On a page with a `::: mkdocs-click` directive, the help texts' preformatted paragraphs (click's
  `\\b` blocks: examples, columns) stay as the terminal shows them, in text blocks, instead of
  running together into one line of Markdown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

SECTION = "Decisions"
DIRECTIVE = "::: mkdocs-click"
MKDOCS_CLICK_PRIORITY = 141  # mkdocs-click's preprocessor; ours run just before and after it


def on_config(config: Any) -> Any:
    """Fill the empty `Decisions: []` section of the navigation; keep help blocks preformatted."""
    records = sorted(Path(config["docs_dir"], "decisions").glob("[0-9]*.md"))
    pages = [f"decisions/{record.name}" for record in records]
    if not _fill(config["nav"], pages):
        raise ValueError(f"mkdocs.yml's nav has no `{SECTION}: []` section to fill")
    config["markdown_extensions"].append(HelpBlocks())
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


class HelpBlocks(Extension):
    """Fences each paragraph of generated help that has indented lines (a `\\b` block)."""

    def extendMarkdown(self, md: Markdown) -> None:  # Markdown's name for it
        state = {"cli_page": False}
        md.preprocessors.register(_Spot(md, state), "help_blocks_spot", MKDOCS_CLICK_PRIORITY + 1)
        md.preprocessors.register(_Fence(md, state), "help_blocks", MKDOCS_CLICK_PRIORITY - 1)


class _Spot(Preprocessor):
    def __init__(self, md: Markdown, state: dict[str, bool]) -> None:
        super().__init__(md)
        self.state = state

    def run(self, lines: list[str]) -> list[str]:
        self.state["cli_page"] = any(line.startswith(DIRECTIVE) for line in lines)
        return lines


class _Fence(_Spot):
    def run(self, lines: list[str]) -> list[str]:
        if not self.state["cli_page"]:
            return lines
        out: list[str] = []
        paragraph: list[str] = []
        fenced = False
        for line in [*lines, ""]:
            if line.startswith("```"):
                fenced = not fenced
            if fenced or line.startswith("```") or line.strip():
                (out if fenced or line.startswith("```") else paragraph).append(line)
                continue
            if any(part.startswith(" ") for part in paragraph[1:]):
                paragraph = ["```text", *paragraph, "```"]
            out += [*paragraph, line]
            paragraph = []
        return out[:-1]
