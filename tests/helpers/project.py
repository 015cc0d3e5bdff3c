"""Edits to a test project's files: agents, skills, vault settings, special files, and a project
made by `flexor init` whose vault names the live catalog."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from flexor_iac.core.constants import Environment
from flexor_iac.main import main
from flexor_iac.project import parse_cache

LIVE = "plexifact://prod/catalog"
READER = """\
name: reader
version: "1.0"
description: "Reads one feed and logs its row count."
owner: "ops-team"
vault: desk
environment: production
trigger:
  type: manual
tasks:
  - skill: plexifact.catalog.get_feed_metadata
    args:
      feed: equity-prices
    capture: meta
  - skill: core.audit.log
    args:
      event: "rows"
      result: "{{ meta.row_count }}"
"""


def write_agent(root: Path, name: str, body: str, *, retry: str = "",
                trigger: str = "type: manual") -> None:
    """An agent of the company vault, declared for staging."""
    (root / "agents" / f"{name}.yaml").write_text(
        f'name: {name}\nversion: "1.0"\ndescription: "A test agent."\nowner: "ops-team"\n'
        f"vault: company\nenvironment: staging\ntrigger:\n  {trigger}\n{retry}tasks:\n{body}")


def write_skill(root: Path, name: str, text: str) -> None:
    """A skill of the company vault."""
    (root / "vaults" / "company" / "skills" / f"{name}.yaml").write_text(
        f'name: {name}\nversion: "1.0"\ndescription: "A test skill."\n{text}')


def set_vault(root: Path, **changes: Any) -> None:
    """Change keys of the company vault.json (dotted keys reach into groups)."""
    path = root / "vaults" / "company" / "vault.json"
    config = json.loads(path.read_text())
    for dotted, value in changes.items():
        *groups, key = dotted.split("__")
        target = config
        for group in groups:
            target = target.setdefault(group, {})
        target[key] = value
    path.write_text(json.dumps(config))


def allow_loopback(root: Path) -> None:
    """Let the company vault's notifications reach the tests' servers on 127.0.0.1."""
    set_vault(root, notifications__allowed_hosts=["127.0.0.1"])


def add_staging_agent(project: Path) -> None:
    """A second agent, declared for staging only, that does not use data-freshness-check."""
    (project / "agents" / "staging-probe.yaml").write_text(
        'name: staging-probe\nversion: "0.1"\ndescription: "A staging-only probe."\n'
        'owner: "ops-team"\nvault: company\nenvironment: staging\ntrigger:\n  type: manual\n'
        "tasks:\n  - skill: core.audit.log\n    args:\n      event: probe\n")


def add_special_files(project: Path, outside: Path) -> list[str]:
    """A FIFO, a device and links leaving the company vault; the diagnostics they should get."""
    vault = project / "vaults" / "company"
    os.mkfifo(vault / "skills" / "pipe.yaml")
    os.mkfifo(vault / "knowledge" / "pipe.md")
    (vault / "skills" / "zero.yaml").symlink_to("/dev/zero")
    (vault / "knowledge" / "passwd").symlink_to("/etc/passwd")
    outside.write_text("the-secret\n")
    (vault / "rules" / "secret.md").symlink_to(outside)
    (vault / "rules" / "routing.md").symlink_to("notification-routing.md")  # inside: fine
    pipe = "error: not a regular file (a named pipe); only regular files are read"
    leaving = "error: a symbolic link leading outside its vault (to {}); only files inside it " \
              "are read"
    return sorted([
        f"vaults/company/knowledge/passwd:1:1: {leaving.format('/etc/passwd')} [file-not-regular]",
        f"vaults/company/knowledge/pipe.md:1:1: {pipe} [file-not-regular]",
        f"vaults/company/rules/secret.md:1:1: {leaving.format(outside.resolve())} "
        "[file-not-regular]",
        f"vaults/company/skills/pipe.yaml:1:1: {pipe} [file-not-regular]",
        f"vaults/company/skills/zero.yaml:1:1: {leaving.format('/dev/zero')} [file-not-regular]",
    ])


def init_project(root: Path, catalog: str | None = LIVE) -> Path:
    """`flexor init` + a vault naming `catalog` (the live one) + an agent reading PlexiFact."""
    assert main(["init", str(root), "--vault", "desk"]) == 0
    vault = root / "vaults" / "desk" / "vault.json"
    config = json.loads(vault.read_text())
    if catalog is not None:
        config["data"] = {"catalog": catalog}
    vault.write_text(json.dumps(config, indent=2) + "\n")
    (root / "agents" / "reader.yaml").write_text(READER)
    return root


def drop_stack_catalog(root: Path, env: Environment) -> None:
    """Remove `flexor:catalog` from Pulumi.<env>.yaml."""
    stack = root / f"Pulumi.{env}.yaml"
    stack.write_text("".join(line for line in stack.read_text().splitlines(keepends=True)
                             if "flexor:catalog" not in line))


def files_settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the parse cache takes every file as written long ago: it keeps no entry of
    a file changed in the last seconds (racy git), which a test's files always are."""
    real = parse_cache.clock_ns
    monkeypatch.setattr(parse_cache, "clock_ns", lambda: real() + 10 * parse_cache.UNSURE_NS)


def rewrite_keeping_its_times(path: Path, old: str, new: str) -> None:
    """Replace `old` by `new` (same length) and put the file's old times back, as `cp -p`,
    `tar`, `rsync -a` or a second write within one clock tick leave a file."""
    assert len(old) == len(new)
    before = path.stat()
    path.write_text(path.read_text().replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
