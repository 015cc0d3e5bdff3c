"""The documentation cannot drift from the code: the CLI reference is generated from the click
commands (and names every one of them), the troubleshooting page and the README explain every
exit code (tests/test_rules.py: every rule id, with its fix), the README stays a front door, and
the site stays buildable offline (tests/engine/test_docs_site.py builds it)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import yaml
from mkdocs_click._docs import make_command_docs

from flexor_iac.core.constants import ExitCode
from flexor_iac.main import cli
from tests.conftest import REPO

DOCS = REPO / "docs"
README_MAX_LINES = 200


def _commands(group: click.Group, prefix: str = "flexor") -> Iterator[str]:
    """Every command path under `group` ("flexor deploy", "flexor keys create", …)."""
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        assert command is not None
        yield f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


def _cli_reference() -> str:
    """The CLI reference page as mkdocs-click renders it, with the page's own directive."""
    page = (DOCS / "reference" / "cli.md").read_text()
    directive = re.search(r"^::: mkdocs-click\n((?:    :\w+: .*\n)+)", page, re.MULTILINE)
    assert directive is not None, "docs/reference/cli.md has no `::: mkdocs-click` directive"
    options = dict(re.findall(r":(\w+): (.*)", directive.group(1)))
    assert (options["module"], options["command"]) == ("flexor_iac.main", "cli")
    lines = make_command_docs(prog_name=options["prog_name"], command=cli,
                              depth=int(options["depth"]), style=options["style"],
                              list_subcommands=options["list_subcommands"] == "true")
    return "\n".join(lines)


def _table_rows(markdown: str) -> dict[str, list[str]]:
    """First cell → the other cells, for every table row of `markdown`."""
    rows = {}
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[cells[0]] = cells[1:]
    return rows


def _heading_paths(markdown: str) -> set[str]:
    """Each heading with the headings above it: `## flexor`, `### keys`, `#### create` →
    "flexor", "flexor keys", "flexor keys create"."""
    headings = re.findall(r"^(#+) (.+)$", markdown, re.MULTILINE)
    top = len(headings[0][0])  # the level of `flexor` itself (the directive's :depth:)
    trail: list[str] = []
    paths = set()
    for hashes, title in headings:
        trail = [*trail[:len(hashes) - top], title]
        paths.add(" ".join(trail))
    return paths


def test_the_cli_reference_documents_every_command() -> None:
    assert set(_commands(cli)) - _heading_paths(_cli_reference()) == set()


def test_every_exit_code_is_explained_in_troubleshooting_and_the_readme() -> None:
    for page in (DOCS / "troubleshooting.md", REPO / "README.md"):
        rows = _table_rows(page.read_text())
        assert [code for code in ExitCode if str(code.value) not in rows] == [], page


def test_the_readme_is_a_front_door() -> None:
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= README_MAX_LINES
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme):  # its links lead somewhere
        if not target.startswith(("http://", "https://")):
            assert (REPO / target).exists(), target


def test_the_site_builds_offline_and_strict() -> None:
    config = yaml.load((REPO / "mkdocs.yml").read_text(), Loader=yaml.SafeLoader)
    assert config["strict"] is True and config["docs_dir"] == "docs"
    assert config["theme"]["font"] is False  # no Google Fonts
    assert config["plugins"] == ["search"]  # built locally; no plugin that needs the network
    assert all(value == "warn" for kind in config["validation"].values()
               for value in kind.values())  # under strict, every problem fails the build
