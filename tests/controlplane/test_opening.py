"""Opening the embedded control plane: a path that holds no control plane is one line (exit
1) naming it and the way out, read-only verbs create nothing, and what is created is private."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from flexor_iac.controlplane.database import SQLiteDatabase
from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor_main
from tests.helpers.project import files_settled

pytestmark = pytest.mark.embedded


def _run(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = flexor_main(project, *args)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("where, said", [
    ("/dev/null", "is not a database file (a character device)"),
    ("folder", "is not a database file (a directory)"),
    ("/proc/self/status", "cannot open the control plane"),
    ("text", "is not a flexor control plane (not a SQLite database)"),
    ("other sqlite", "is not a flexor control plane (a SQLite database without flexor's schema)"),
], ids=["/dev/null", "a folder", "a file under /proc", "a text file", "another database"])
def test_a_control_plane_that_is_no_control_plane_is_one_line(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, where: str, said: str) -> None:
    target = Path(where) if where.startswith("/") else tmp_path / where
    if where == "folder":
        target.mkdir()
    elif where == "text":
        target.write_text("not a database\n" * 100)
    elif where == "other sqlite":
        with sqlite3.connect(target) as other:
            other.execute("CREATE TABLE invoices (id INTEGER)")
    before = target.stat().st_size if target.is_file() and not where.startswith("/") else None
    monkeypatch.setenv("FLEXOR_CONTROL_PLANE", str(target))
    for verb in (("status", "--env", "staging"), ("sync", "--all")):
        code, err = _run(project, capsys, *verb)
        assert code == ExitCode.FAILED, err
        assert err.count("\n") == 1 and str(target) in err and said in err, err
        assert "FLEXOR_CONTROL_PLANE" in err and "internal error" not in err
    if before is not None:
        assert target.stat().st_size == before  # nothing written into someone else's file


def test_a_mistyped_control_plane_path_is_refused_by_reads_and_said_when_made(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    typo = tmp_path / "contol-plane.db"
    monkeypatch.setenv("FLEXOR_CONTROL_PLANE", str(typo))
    code, err = _run(project, capsys, "status", "--env", "staging")
    assert (code, err) == (ExitCode.FAILED, f"error: there is no control plane at {typo} "
                           "(FLEXOR_CONTROL_PLANE): check the path; `flexor sync`, `deploy` or "
                           "`keys create` make a new one\n")
    assert not typo.exists()
    code, err = _run(project, capsys, "sync", "--all")
    assert code == ExitCode.OK
    assert f"made a new control plane at {typo} (FLEXOR_CONTROL_PLANE)" in err
    assert _run(project, capsys, "keys", "list")[0] == ExitCode.OK  # read from there now


def test_read_only_verbs_create_no_control_plane(project: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    for verb in (("status", "--env", "staging"), ("agents", "list", "--env", "staging"),
                 ("logs", "--agent", "feed-monitor", "--env", "staging"),
                 ("history", "--env", "staging"), ("keys", "list"), ("access", "list")):
        code, err = _run(project, capsys, *verb)
        assert code == ExitCode.FAILED, (verb, err)
        assert err == (f"error: there is no control plane at {project}/.flexor/"
                       "control-plane.db yet: nothing was synced or deployed from this clone "
                       "(in team mode, set FLEXOR_DATABASE_URL)\n"), verb
    assert not (project / ".flexor").exists()


def test_a_control_plane_missing_a_table_is_one_line(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(project, capsys, "sync", "--all")[0] == ExitCode.OK
    with sqlite3.connect(project / ".flexor" / "control-plane.db") as db:
        db.execute("DROP TABLE runs")
    code, err = _run(project, capsys, "status", "--env", "staging")
    assert code == ExitCode.FAILED and err.count("\n") == 1
    assert "lacks table runs" in err and "restore it from a backup" in err


KEY = ("keys", "create", "--name", "ci", "--user", "ci", "--scope", "admin")


@pytest.mark.parametrize("verbs", [(KEY, ("validate",)), (("validate",), KEY)],
                         ids=["a key first", "the parse cache first"])
def test_what_holds_keys_and_runs_is_readable_by_its_owner_only(
        project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        verbs: tuple[tuple[str, ...], ...]) -> None:
    files_settled(monkeypatch)  # so that validate keeps its parse cache
    for verb in verbs:  # whichever makes .flexor/ first
        assert _run(project, capsys, *verb)[0] == ExitCode.OK
    state = project / ".flexor"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for folder in (p for p in state.rglob("*") if p.is_dir()):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for made in state.glob("control-plane.db*"):
        assert stat.S_IMODE(made.stat().st_mode) == 0o600, made


def test_a_full_disk_under_the_control_plane_is_one_line_and_keeps_nothing(
        project: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's SQLITE_FULL, as a full disk gives it (here: the file may grow no further)."""
    assert _run(project, capsys, "sync", "--all")[0] == ExitCode.OK
    database = project / ".flexor" / "control-plane.db"
    with sqlite3.connect(database) as db:
        before = db.execute("SELECT digest FROM snapshots").fetchall()
    real = SQLiteDatabase._use_wal

    def capped(self: SQLiteDatabase) -> None:
        real(self)
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        self._db.execute(f"PRAGMA max_page_count={pages}")
    monkeypatch.setattr(SQLiteDatabase, "_use_wal", capped)
    (project / "vaults" / "company" / "rules" / "big.md").write_text("x" * 400_000)
    code, err = _run(project, capsys, "sync", "--all")
    assert code == ExitCode.FAILED and err.count("\n") == 1, err
    assert err.startswith(f"error: the control plane {database} could not be written "
                          "(database or disk is full)")
    assert "internal error" not in err
    monkeypatch.undo()
    with sqlite3.connect(database) as db:  # the new snapshot was not half kept
        assert db.execute("SELECT digest FROM snapshots").fetchall() == before
