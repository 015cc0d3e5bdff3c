"""The guard that keeps `make test-fast` free of processes really stops an unmarked test's."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import PROCESSES, UnmarkedProcess


def _refused_and_forgiven(start: object) -> str:
    """The guard's message for what `start()` did; the record is cleared so this test passes."""
    with pytest.raises(UnmarkedProcess) as refused:
        start()  # type: ignore[operator]
    PROCESSES.started = []
    return str(refused.value)


def test_an_unmarked_test_cannot_start_a_subprocess() -> None:
    message = _refused_and_forgiven(lambda: subprocess.run(["true"], check=True))
    assert message.startswith("this test started a process (subprocess.Popen true) ")
    assert "`engine`" in message and "`postgres`" in message


def test_an_unmarked_test_cannot_fork_or_run_a_shell() -> None:
    assert "(os.fork" in _refused_and_forgiven(os.fork)
    assert "(os.system true)" in _refused_and_forgiven(lambda: os.system("true"))


@pytest.mark.engine
def test_a_test_marked_engine_may_start_one() -> None:
    assert subprocess.run(["true"], check=False).returncode == 0


class _Item:
    """What marking by fixture looks at in a collected test."""

    def __init__(self, *fixtures: str) -> None:
        self.fixturenames, self.markers = list(fixtures), []  # type: list[str], list[str]

    def add_marker(self, mark: pytest.MarkDecorator) -> None:
        self.markers.append(mark.name)

    def get_closest_marker(self, _name: str) -> None:
        return None


class _Config:
    def __init__(self, store: str) -> None:
        self.store = store

    def getoption(self, _name: str) -> str:
        return self.store


@pytest.mark.parametrize(("store", "marked"), [("sqlite", [[], ["postgres"]]),
                                               ("postgresql", [["postgres"], ["postgres"]])])
def test_a_test_using_a_postgresql_is_marked_postgres(store: str,
                                                      marked: list[list[str]]) -> None:
    from tests.conftest import pytest_collection_modifyitems

    items = [_Item("project", "tmp_path"), _Item("team_database", "postgres_server")]
    pytest_collection_modifyitems(_Config(store), items)  # type: ignore[arg-type]
    assert [item.markers for item in items] == marked
