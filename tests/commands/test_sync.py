"""`flexor sync`: only regular files inside the vault are published; special files stop it."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor_child, flexor_main
from tests.helpers.project import add_special_files


@pytest.mark.engine
def test_special_files_and_links_leaving_the_vault_stop_the_sync(project: Path,
                                                                 tmp_path: Path) -> None:
    expected = add_special_files(project, tmp_path / "secret.md")
    done = flexor_child(project, "sync", "--vault", "company")
    assert done.returncode == ExitCode.FAILED, done.stderr[-2000:]
    assert sorted(line for line in done.stderr.splitlines() if "[file-" in line) == expected
    assert "the vault has errors; nothing was synced" in done.stderr
    assert "the-secret" not in done.stdout + done.stderr
    assert not (project / ".flexor" / "snapshots").exists()



@pytest.mark.parametrize("named", [(), ("--vault", "company")], ids=["--all", "--vault"])
def test_a_vault_json_that_does_not_load_stops_the_sync(
        project: Path, capsys: pytest.CaptureFixture[str], named: tuple[str, ...]) -> None:
    (project / "vaults" / "company" / "vault.json").write_text('{"name": "company", ')
    code = flexor_main(project, "sync", *(named or ("--all",)))
    err = capsys.readouterr().err.splitlines()
    assert code == ExitCode.FAILED
    assert err[0].startswith("vaults/company/vault.json:1:") and err[0].endswith("[json-syntax]")
    assert err[-1] == "error: the vault has errors; nothing was synced"
    with ControlPlane(locate(project)) as store:  # desk was not published either
        assert [store.newest_snapshot(vault) for vault in ("company", "desk")] == [None, None]
