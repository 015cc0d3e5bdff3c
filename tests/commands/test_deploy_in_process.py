"""`flexor deploy` in this process, on fake stacks (tests/helpers/stacks.py): what a user sees
(exit code, plan, summary, `status`) in milliseconds. tests/commands/test_deploy.py runs the
same verbs on the real engine."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import pipeline
from tests.helpers.cli import flexor_main
from tests.helpers.keys import issue_key
from tests.helpers.project import files_settled, rewrite_keeping_its_times, set_vault
from tests.helpers.stacks import FakeStacks, use_fake_stacks

Flexor = Callable[..., tuple[int, list[str], str]]
STAGING = Environment.STAGING


@pytest.fixture
def stacks(monkeypatch: pytest.MonkeyPatch) -> FakeStacks:
    return use_fake_stacks(monkeypatch)


@pytest.fixture
def cli(project: Path, stacks: FakeStacks, capsys: pytest.CaptureFixture[str]) -> Flexor:
    """`flexor ARGS` in process: (exit code, stdout lines, stderr)."""
    def invoke(*args: str) -> tuple[int, list[str], str]:
        capsys.readouterr()
        code = flexor_main(project, *args)
        out, err = capsys.readouterr()
        return code, out.splitlines(), err
    return invoke


def _status(cli: Flexor) -> list[str]:
    code, out, err = cli("status", "--env", "staging")
    assert code == ExitCode.OK, err
    return out


def _roster(cli: Flexor) -> list[list[str]]:
    """`agents list --env staging`: name and version of each agent."""
    code, out, err = cli("agents", "list", "--env", "staging")
    assert code == ExitCode.OK, err
    return [[line.split()[0], line.split()[4]] for line in out[1:]]


def _bump(project: Path, version: str | None) -> None:
    """feed-monitor's retry changed, at `version` (None: the version left as it is)."""
    agent = project / "agents" / "feed-monitor.yaml"
    text = agent.read_text().replace("max_attempts: 2", "max_attempts: 3")
    if version is not None:
        text = text.replace('version: "1.0"', f'version: "{version}"')
    agent.write_text(text)


def test_a_first_deploy_creates_everything_and_status_counts_the_agent(cli: Flexor) -> None:
    assert cli("sync", "--vault", "company")[0] == ExitCode.OK
    assert _status(cli)[1:3] == ["Agents: 0 active, 0 paused, 0 erroring",
                                 "Last deployment: never"]
    code, out, err = cli("deploy", "--env", "staging", "--yes")
    assert code == ExitCode.OK, err
    assert out[:3] == [" + EnvironmentBinding staging", " + VaultTierScope company",
                       " + Agent feed-monitor  1.0"]
    assert "Plan for staging: 3 to create, 0 to update, 0 to replace, 0 to delete; " \
        "0 unchanged, 0 skipped." in out
    assert out[-1] == "Deployed to staging: 3 create."
    status = _status(cli)
    assert status[1] == ("Agents: 0 active, 0 paused, 0 erroring, 1 not served "  # feed-monitor:
                         "(no `flexor serve --env staging` running)")  # a schedule, no server
    assert status[2].startswith("Last deployment: 20") and status[2].endswith(" UTC")
    assert status[3].startswith("Vault sync: 20") and status[3].endswith(" UTC (current)")
    assert _roster(cli) == [["feed-monitor", "1.0"]]


def test_a_second_deploy_with_nothing_changed_has_no_changes(cli: Flexor) -> None:
    cli("sync", "--vault", "company")
    assert cli("deploy", "--env", "staging", "--yes")[0] == ExitCode.OK
    deployed = _status(cli)
    code, out, err = cli("deploy", "--env", "staging", "--yes")
    assert code == ExitCode.OK, err
    assert "No changes." in out
    assert "Plan for staging: 0 to create, 0 to update, 0 to replace, 0 to delete; " \
        "3 unchanged, 0 skipped." in out
    assert not any(line.startswith("Deployed to") for line in out)
    assert _status(cli) == deployed  # no second deployment recorded


def test_a_deploy_with_nothing_changed_since_the_last_asks_no_engine(
        cli: Flexor, project: Path, stacks: FakeStacks) -> None:
    cli("sync", "--vault", "company")
    cli("deploy", "--env", "staging", "--yes")
    engine_said = cli("deploy", "--env", "staging", "--yes")[1]
    asked = len(stacks.asked_of(STAGING))
    for args in ((), ("--dry-run", "--detailed-exitcode")):
        code, out, err = cli("deploy", "--env", "staging", "--yes", *args)
        assert (code, out) == (ExitCode.OK, engine_said), err
    assert stacks.asked_of(STAGING)[asked:] == []
    cli("deploy", "--env", "staging", "--agent", "feed-monitor", "--yes")
    assert stacks.asked_of(STAGING)[asked:] == ["preview"]  # --agent: always the engine


@pytest.mark.parametrize("moved", ["agent file", "stack file", "stack state"])
def test_a_deploy_after_anything_moved_asks_the_engine(
        cli: Flexor, project: Path, stacks: FakeStacks, moved: str) -> None:
    cli("sync", "--vault", "company")
    cli("deploy", "--env", "staging", "--yes")
    if moved == "agent file":
        _bump(project, "1.1")
    elif moved == "stack file":
        stack_file = project / "Pulumi.staging.yaml"
        stack_file.write_text(stack_file.read_text() + "# reviewed\n")
    else:  # another clone's deploy: the same project, but the state was written again
        stacks.open(ProjectPaths(project), STAGING).up()
    before = len(stacks.asked_of(STAGING))
    assert cli("deploy", "--env", "staging", "--yes")[0] == ExitCode.OK
    assert stacks.asked_of(STAGING)[before] == "preview"


def test_a_dry_run_shows_the_change_and_applies_nothing(cli: Flexor, project: Path,
                                                        stacks: FakeStacks) -> None:
    cli("sync", "--vault", "company")
    assert cli("deploy", "--env", "staging", "--yes")[0] == ExitCode.OK
    deployed = _status(cli)
    _bump(project, "1.1")
    code, out, err = cli("deploy", "--env", "staging", "--dry-run", "--detailed-exitcode")
    assert code == ExitCode.CHANGES_PRESENT, err
    assert " ~ Agent feed-monitor  1.0 → 1.1  (spec.retry)" in out
    assert (_status(cli), _roster(cli)) == (deployed, [["feed-monitor", "1.0"]])
    assert stacks.asked_of(STAGING).count("up") == 1  # the first deploy's


def test_a_rewrite_that_keeps_the_files_size_and_times_is_deployed(
        cli: Flexor, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`cp -p`, `tar` or `rsync -a` bring a changed file with its old size and mtime."""
    files_settled(monkeypatch)  # else the rewrite would be seen only for being recent
    cli("sync", "--vault", "company")
    assert cli("deploy", "--env", "staging", "--yes")[0] == ExitCode.OK
    rewrite_keeping_its_times(project / "agents" / "feed-monitor.yaml",
                              'version: "1.0"', 'version: "1.9"')
    code, out, err = cli("deploy", "--env", "staging", "--dry-run", "--detailed-exitcode")
    assert code == ExitCode.CHANGES_PRESENT, err
    assert any(line.startswith(" ~ Agent feed-monitor  1.0 → 1.9") for line in out), out
    assert cli("deploy", "--env", "staging", "--yes")[0] == ExitCode.OK
    assert _roster(cli) == [["feed-monitor", "1.9"]]


def test_a_deploy_then_applies_what_the_dry_run_showed(cli: Flexor, project: Path) -> None:
    cli("sync", "--vault", "company")
    cli("deploy", "--env", "staging", "--yes")
    _bump(project, "1.1")
    code, out, err = cli("deploy", "--env", "staging", "--yes")
    assert code == ExitCode.OK, err
    assert out[-1] == "Deployed to staging: 1 update."
    assert _roster(cli) == [["feed-monitor", "1.1"]]


def test_an_invalid_project_deploys_nothing(cli: Flexor, project: Path,
                                            stacks: FakeStacks) -> None:
    agent = project / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace('version: "1.0"', 'version: "one"'))
    code, _out, err = cli("deploy", "--env", "staging", "--yes")
    assert code == ExitCode.FAILED
    assert "agents/feed-monitor.yaml:2:1: error: version: 'one' does not match" in err
    assert "error: the project has errors; nothing was deployed" in err.splitlines()
    assert stacks.asked == []
    with ControlPlane(locate(project)) as store:  # on either store: nothing recorded
        assert store.active_agents("staging") == [] and not store.has_snapshots()


def test_a_pulumi_yaml_that_is_not_utf8_is_reported_as_validate_reports_it(
        cli: Flexor, project: Path, stacks: FakeStacks) -> None:
    pulumi_yaml = project / "Pulumi.yaml"
    pulumi_yaml.write_bytes(pulumi_yaml.read_bytes().replace(b"name: flexor",
                                                             b"name: flexor # caf\xe9", 1))
    for args in (("--dry-run",), ("--yes",)):
        code, _out, err = cli("deploy", "--env", "staging", *args)
        assert code == ExitCode.FAILED, err
        assert err.splitlines()[0].startswith("Pulumi.yaml:") and "[file-encoding]" in err
        assert err.splitlines()[-1] == "error: the project has errors; nothing was deployed"
    assert stacks.asked_of(STAGING) == []


def test_a_refused_deploy_leaves_the_stack_and_the_control_plane_as_they_were(
        cli: Flexor, project: Path, stacks: FakeStacks) -> None:
    cli("sync", "--vault", "company")
    cli("deploy", "--env", "staging", "--yes")
    deployed = (_status(cli), _roster(cli), copy.deepcopy(stacks.states))
    _bump(project, None)  # a changed spec at the same version
    code, _out, err = cli("deploy", "--env", "staging", "--yes")
    assert code == ExitCode.REFUSED
    assert err.splitlines()[-1] == (
        "error: refused: agent feed-monitor changed (spec.retry) but its version is still 1.0; "
        "bump `version` in its file to deploy to staging")
    assert (_status(cli), _roster(cli), copy.deepcopy(stacks.states)) == deployed


# --- a PLEXI-managed production --------------------------------------------------------------

def _managed(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Production PLEXI-managed, and FLEXOR_API_KEY a key that may deploy there."""
    stack = project / "Pulumi.production.yaml"
    stack.write_text(stack.read_text() + "  flexor:managed: true\n")
    with ControlPlane(locate(project)) as store:
        secret = issue_key(store, "alice", "deploy:production", "deploy:staging", "read")
    monkeypatch.setenv("FLEXOR_API_KEY", secret)


def test_a_managed_production_deploy_validates_the_project_once(
        cli: Flexor, project: Path, stacks: FakeStacks, monkeypatch: pytest.MonkeyPatch) -> None:
    _managed(project, monkeypatch)
    cli("sync", "--vault", "company")
    calls: list[tuple[str, ...]] = []
    validate = pipeline.validate_project

    def counted(root: Path, environments: tuple[Environment, ...], **options: Any) -> Any:
        calls.append(tuple(env.value for env in environments))
        return validate(root, environments, **options)

    monkeypatch.setattr(pipeline, "validate_project", counted)
    code, out, err = cli("deploy", "--env", "production", "--yes")
    assert code == ExitCode.OK, err
    request = out[-1].split()[3]
    assert out[-1] == (f"Then: flexor approve {request} (someone else); `flexor serve --env "
                       "production` applies it when the next maintenance window opens (or by "
                       f"hand in one: flexor deploy --request {request} --env production)")
    assert "Deployed to staging: 3 create." in out  # the staging review
    assert (stacks.asked_of(Environment.PRODUCTION), stacks.asked_of(STAGING)) == (
        ["preview"], ["preview", "up"])
    assert calls == [("production",)]


def test_a_managed_production_request_still_needs_a_project_valid_for_staging(
        cli: Flexor, project: Path, stacks: FakeStacks, monkeypatch: pytest.MonkeyPatch) -> None:
    _managed(project, monkeypatch)
    (project / "agents" / "staging-probe.yaml").write_text(
        'name: staging-probe\nversion: "0.1"\ndescription: "A staging-only probe."\n'
        'owner: "ops-team"\nvault: company\nenvironment: staging\ntrigger:\n  type: manual\n'
        "tasks:\n  - skill: no-such-skill\n")
    cli("sync", "--vault", "company")
    code, out, err = cli("deploy", "--env", "production", "--yes")
    assert code == ExitCode.FAILED, err
    assert "agents/staging-probe.yaml" in err
    assert err.splitlines()[-1] == "error: the project has errors; nothing was deployed"
    assert not any(line.startswith("Request ") for line in out)
    assert stacks.asked_of(STAGING) == []


def _count_opens(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Each project whose control plane a command opens (ControlPlane.of), from now on."""
    opened: list[Path] = []
    real = ControlPlane.of.__func__  # type: ignore[attr-defined]

    def counting(cls: type[ControlPlane], paths: ProjectPaths, *args: Any,
                 **settings: Any) -> ControlPlane:
        opened.append(paths.root)
        return real(cls, paths, *args, **settings)  # type: ignore[no-any-return]

    monkeypatch.setattr(ControlPlane, "of", classmethod(counting))
    return opened


def test_a_deploy_opens_the_control_plane_once(cli: Flexor, project: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cli("sync", "--vault", "company")
    opened = _count_opens(monkeypatch)
    assert cli("deploy", "--env", "staging", "--yes")[0] == ExitCode.OK
    assert opened == [project]
    _bump(project, "1.1")
    (project / "vaults" / "company" / "rules" / "extra.md").write_text("A new rule.\n")
    set_vault(project, sync__auto=True)  # published by the deploy itself
    opened.clear()
    code, out, err = cli("deploy", "--env", "staging", "--yes")
    assert (code, out[-1]) == (ExitCode.OK, "Deployed to staging: 2 update."), err
    assert "Synced company (sync.auto): sha256:" in err
    assert opened == [project]


def test_a_managed_production_request_opens_the_control_plane_once(
        cli: Flexor, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _managed(project, monkeypatch)
    cli("sync", "--vault", "company")
    opened = _count_opens(monkeypatch)
    code, out, err = cli("deploy", "--env", "production", "--yes")
    assert code == ExitCode.OK, err
    assert out[-1].startswith("Then: flexor approve R-")
    assert opened == [project]
