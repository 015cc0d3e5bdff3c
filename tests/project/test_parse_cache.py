"""The parse cache: unchanged files are not parsed again, changed ones always are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flexor_iac.project import parse_cache
from flexor_iac.project.parse_cache import FILE
from flexor_iac.project.validate import validate_project
from tests.helpers.project import files_settled, rewrite_keeping_its_times


def _rules(project: Path) -> list[str]:
    return [d.rule for d in validate_project(project)[1]]


def _counting_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files parsed from now on (not found in the cache)."""
    parsed: list[str] = []
    real = parse_cache.ParseCache.get

    def counting_get(self: parse_cache.ParseCache, key: parse_cache.Key) -> object:
        found = real(self, key)
        if found is None:
            parsed.append(key[0])
        return found
    monkeypatch.setattr(parse_cache.ParseCache, "get", counting_get)
    return parsed


def test_a_second_run_reuses_the_parse_and_a_changed_file_is_parsed_again(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files_settled(monkeypatch)
    assert _rules(project) == []
    assert (project / FILE).is_file()
    parsed = _counting_parses(monkeypatch)
    assert _rules(project) == [] and parsed == []
    agent = project / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace('version: "1.0"', 'version: "one"'))
    assert _rules(project) == ["version-format"]
    assert parsed == ["agents/feed-monitor.yaml"]


def test_files_changed_in_the_last_seconds_are_parsed_again(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Racy git: a second same-size write within one clock tick leaves every time as it was."""
    assert _rules(project) == []  # the project's files were all just written
    parsed = _counting_parses(monkeypatch)
    assert _rules(project) == []
    assert "agents/feed-monitor.yaml" in parsed and "Pulumi.yaml" in parsed


def test_a_same_size_edit_within_the_same_second_is_still_seen(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files_settled(monkeypatch)
    assert _rules(project) == []
    agent = project / "agents" / "feed-monitor.yaml"
    before = agent.stat()
    agent.write_text(agent.read_text().replace('version: "1.0"', 'version: "x.0"'))
    os.utime(agent, ns=(before.st_atime_ns, before.st_mtime_ns + 1))
    assert _rules(project) == ["version-format"]


def test_a_damaged_or_unwritable_cache_is_not_used(project: Path) -> None:
    (project / FILE).parent.mkdir(parents=True)
    (project / FILE).write_bytes(b"\x00garbage")
    assert _rules(project) == []
    (project / FILE).unlink()
    (project / FILE).mkdir()  # cannot be replaced by a file
    assert _rules(project) == []


def test_a_cache_of_an_earlier_format_is_ignored_and_removed(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files_settled(monkeypatch)
    older = project / FILE.with_name("documents.1.marshal")
    older.parent.mkdir(parents=True, exist_ok=True)
    older.write_bytes(b"not marshal data")
    assert _rules(project) == []
    assert (project / FILE).is_file() and not older.exists()


def test_a_parse_cached_before_the_json_depth_limit_is_not_trusted(project: Path) -> None:
    """Format 2 caches held deeply nested vault.json data as read; that file is now refused."""
    import json
    import marshal

    vault = project / "vaults" / "company" / "vault.json"
    text = vault.read_text().replace('{', '{"deep": ' + "[" * 70 + "]" * 70 + ", ", 1)
    vault.write_text(text)
    status = vault.stat()
    written_by_2 = {("vaults/company/vault.json", status.st_size, status.st_mtime_ns):
                    ("d", "vaults/company/vault.json", json.loads(text), text)}
    older = project / FILE.with_name("documents.2.marshal")
    older.parent.mkdir(parents=True, exist_ok=True)
    older.write_bytes(marshal.dumps((2, written_by_2)))
    assert "json-too-deep" in _rules(project)


def test_a_rewrite_with_its_old_size_and_times_is_read_again(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files_settled(monkeypatch)  # else the rewrite would be seen only for being recent
    assert _rules(project) == []
    rewrite_keeping_its_times(project / "agents" / "feed-monitor.yaml",
                              'version: "1.0"', 'version: "x.y"')
    assert _rules(project) == ["version-format"]
