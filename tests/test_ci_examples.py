"""The CI examples in docs/ci would run on a real runner. The recommended ones (github-actions.yml,
gitlab-ci.yml) go through the team server: their jobs hold its address and a key, nothing of
the team's (no database URL, no passphrase, no Pulumi), install the client before using it, and
apply a saved plan only in a job after the one that saved it, with the plan's file handed over.
The direct team-mode example (github-actions-direct.yml) installs the pinned Pulumi (the
official release, reused by scripts/setup) with the Go-module fallback cached on the pin file,
and derives the state URL flexor derives. In all of them, checkouts used by `validate
--changed` have the history it needs, and every apply says --yes (a CI job has no terminal)."""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from flexor_iac.controlplane.location import pulumi_backend
from flexor_iac.deploy import toolchain
from tests.conftest import REPO

GITHUB = REPO / "docs" / "ci" / "github-actions.yml"
GITLAB = REPO / "docs" / "ci" / "gitlab-ci.yml"
DIRECT = REPO / "docs" / "ci" / "github-actions-direct.yml"
GITHUB_EXAMPLES = (GITHUB, DIRECT)
# What only the team server holds: a job of the recommended examples never names them.
TEAM_SECRETS = ("FLEXOR_DATABASE_URL", "PULUMI_", "scripts/setup", "pulumi/actions",
                "pulumi preview", "pulumi up")
SHELL_OPERATORS = {"||", "&&", ";", "|", ">", ">>", "2>", "<"}
APPLYING_VERBS = ("deploy", "rollback")
TOOLCHAIN_FILE = "flexor_iac/toolchain.toml"

Job = dict[str, Any]


def _load(path: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), path
    return loaded


def _github_jobs(path: Path = GITHUB) -> dict[str, Job]:
    jobs: dict[str, Job] = _load(path)["jobs"]
    return jobs


def _every_github_job() -> dict[str, Job]:
    return {f"{path.stem}:{name}": job for path in GITHUB_EXAMPLES
            for name, job in _github_jobs(path).items()}


def _gitlab() -> dict[Any, Any]:
    return _load(GITLAB)


def _gitlab_jobs() -> dict[str, Job]:
    return {name: job for name, job in _gitlab().items()
            if isinstance(job, dict) and "script" in job}


def _steps(job: Job, action: str) -> list[dict[str, Any]]:
    """The job's steps that use `action` (any version)."""
    return [s for s in job["steps"] if str(s.get("uses", "")).split("@")[0] == action]


def _github_commands(job: Job) -> list[str]:
    return [line for step in job["steps"] if "run" in step
            for line in str(step["run"]).splitlines()]


def _gitlab_commands(job: Job) -> list[str]:
    before = job.get("before_script", _gitlab().get("default", {}).get("before_script", []))
    return [line for entry in [*before, *job["script"]] for line in str(entry).splitlines()]


def _all_commands() -> list[tuple[str, str]]:
    found = [(f"github:{name}", line) for name, job in _every_github_job().items()
             for line in _github_commands(job)]
    found += [(f"gitlab:{name}", line) for name, job in _gitlab_jobs().items()
              for line in _gitlab_commands(job)]
    return found


def _flexor_calls(line: str) -> list[list[str]]:
    """Each `flexor VERB …` in one shell line, as its words up to the next shell operator."""
    words = shlex.split(line, comments=True)
    calls = []
    for index, word in enumerate(words):
        if Path(word).name == "flexor":
            call = []
            for arg in words[index + 1:]:
                if arg in SHELL_OPERATORS:
                    break
                call.append(arg)
            calls.append(call)
    return calls


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def _minimum_python() -> tuple[int, ...]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    requires = pyproject["project"]["requires-python"]
    assert requires.startswith(">="), requires
    return _version(requires)


# --- the recommended examples: the team server's address and a key, nothing of the team's ----

def _text_without_comments(path: Path) -> str:
    return "\n".join(line.split(" #")[0] for line in path.read_text().splitlines()
                     if not line.lstrip().startswith("#"))


@pytest.mark.parametrize("example", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_remote_examples_hold_the_server_and_a_key_and_nothing_of_the_teams(
        example: Path) -> None:
    text = _text_without_comments(example)
    for secret in TEAM_SECRETS:
        assert secret not in text, (example.name, secret)
    document = _load(example)
    shared = document.get("env") or document["variables"]
    assert str(shared["FLEXOR_SERVER"]).startswith("https://")  # never a key over plain http
    assert "FLEXOR_API_KEY" in example.read_text()  # GitLab: a CI/CD variable, named in comments


def test_github_remote_jobs_install_the_client_before_using_it() -> None:
    for name, job in _github_jobs().items():
        runs = [str(s.get("run", "")) for s in job["steps"]]
        install = next(i for i, run in enumerate(runs) if "pip install" in run)
        assert install < min(i for i, run in enumerate(runs) if ".venv/bin/flexor" in run), name
        assert not _steps(job, "pulumi/actions") and not _steps(job, "actions/setup-go"), name


def test_gitlab_image_is_the_official_python_image_and_installs_the_client() -> None:
    image = _gitlab()["default"]["image"]
    match = re.fullmatch(r"python:(\d+\.\d+)", str(image))
    assert match, image
    assert _version(match[1]) >= _minimum_python()
    assert all("image" not in job for job in _gitlab_jobs().values())
    assert any("pip install" in line for line in _gitlab()["default"]["before_script"])


def _plan_files(lines: list[str], option: str) -> set[str]:
    return {call[call.index(option) + 1] for line in lines for call in _flexor_calls(line)
            if option in call}


def test_github_applies_a_saved_plan_after_the_job_that_saved_it() -> None:
    jobs = _github_jobs()
    applied = 0
    for name, job in jobs.items():
        for plan in _plan_files(_github_commands(job), "--plan"):
            [maker] = [other for other, made in jobs.items()
                       if plan in _plan_files(_github_commands(made), "--plan-out")]
            assert maker in ([job["needs"]] if isinstance(job["needs"], str) else job["needs"])
            assert any(s["with"]["path"] == plan for s in _steps(jobs[maker],
                                                                 "actions/upload-artifact"))
            [fetched] = _steps(job, "actions/download-artifact")
            uploaded = [s for s in _steps(jobs[maker], "actions/upload-artifact")
                        if s["with"]["path"] == plan]
            assert fetched["with"]["name"] == uploaded[0]["with"]["name"], name
            assert "if" not in uploaded[0], name  # uploaded only when the plan was saved
            applied += 1
    assert applied


def test_gitlab_applies_a_saved_plan_after_the_job_that_saved_it() -> None:
    jobs = _gitlab_jobs()
    applied = 0
    for name, job in jobs.items():
        for plan in _plan_files(_gitlab_commands(job), "--plan"):
            [maker] = [other for other, made in jobs.items()
                       if plan in _plan_files(_gitlab_commands(made), "--plan-out")]
            assert maker in job["needs"], name
            assert plan in jobs[maker]["artifacts"]["paths"], name
            applied += 1
    assert applied


# --- the direct example: the Pulumi CLI is the pinned one -----------------------------------

def test_github_direct_installs_the_pinned_pulumi_release_in_every_job() -> None:
    for name, job in _github_jobs(DIRECT).items():
        installs = _steps(job, "pulumi/actions")
        assert len(installs) == 1, name
        settings = installs[0]["with"]
        assert str(settings["pulumi-version"]) == toolchain.pins()["cli"], name
        assert "command" not in settings, f"{name}: pulumi/actions should only install the CLI"


def test_github_python_is_one_the_project_supports() -> None:
    for name, job in _every_github_job().items():
        [python] = _steps(job, "actions/setup-python")
        assert _version(str(python["with"]["python-version"])) >= _minimum_python(), name


# --- set-up order and the Go-module fallback ------------------------------------------------

def test_github_direct_sets_up_after_installing_and_before_using_the_tools() -> None:
    for name, job in _github_jobs(DIRECT).items():
        steps = job["steps"]
        uses = [str(s.get("uses", "")).split("@")[0] for s in steps]
        runs = [str(s.get("run", "")) for s in steps]
        setup = next(i for i, run in enumerate(runs) if "scripts/setup" in run)
        for action in ("actions/checkout", "actions/setup-python", "pulumi/actions",
                       "actions/cache", "actions/setup-go"):
            assert uses.index(action) < setup, (name, action)
        first_use = min(i for i, run in enumerate(runs) if ".venv/bin" in run or "pulumi " in run)
        assert setup < first_use, name


def test_github_direct_fallback_steps_run_only_without_the_release_and_are_keyed_on_the_pin(
        ) -> None:
    for name, job in _github_jobs(DIRECT).items():
        [cache] = _steps(job, "actions/cache")
        [go] = _steps(job, "actions/setup-go")
        for step in (cache, go):
            assert "steps.pulumi.outcome != 'success'" in step["if"], name
        assert "cache-hit != 'true'" in go["if"], name
        assert str(go["with"]["go-version"]) == toolchain.pins()["min_go"], name
        assert str(cache["with"]["path"]).startswith("~/.cache/flexor-iac/pulumi-v"), name
        assert f"hashFiles('{TOOLCHAIN_FILE}')" in cache["with"]["key"], name
        [release] = _steps(job, "pulumi/actions")
        assert release["id"] == "pulumi" and cache["id"] in go["if"], name


def test_gitlab_jobs_do_not_need_make() -> None:
    """The official Pulumi image has no make."""
    for where, line in _all_commands():
        if where.startswith("gitlab:"):
            assert shlex.split(line, comments=True)[:1] != ["make"], (where, line)


# --- history for `validate --changed` -------------------------------------------------------

def test_github_checkouts_used_by_changed_fetch_full_history() -> None:
    checked = 0
    for name, job in _every_github_job().items():
        if not any("--changed" in line for line in _github_commands(job)):
            continue
        [checkout] = _steps(job, "actions/checkout")
        assert checkout.get("with", {}).get("fetch-depth") == 0, name
        assert any("--base origin/${{ github.base_ref }}" in line
                   for line in _github_commands(job)), name
        checked += 1
    assert checked == len(GITHUB_EXAMPLES)


def test_gitlab_jobs_using_changed_clone_full_history_and_fetch_the_target_branch() -> None:
    checked = 0
    target = "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
    for name, job in _gitlab_jobs().items():
        lines = _gitlab_commands(job)
        changed = [i for i, line in enumerate(lines) if "--changed" in line]
        if not changed:
            continue
        depth = job.get("variables", {}).get("GIT_DEPTH",
                                             _gitlab().get("variables", {}).get("GIT_DEPTH"))
        assert str(depth) == "0", name
        fetch = next(i for i, line in enumerate(lines) if line.startswith("git fetch"))
        assert fetch < changed[0], name
        assert f"refs/remotes/origin/{target}" in lines[fetch], name
        assert f"--base origin/{target}" in lines[changed[0]], name
        checked += 1
    assert checked


# --- no terminal in CI ----------------------------------------------------------------------

def test_every_apply_in_the_examples_has_yes() -> None:
    applies = 0
    for where, line in _all_commands():
        for call in _flexor_calls(line):
            if not call or call[0] not in APPLYING_VERBS:
                continue
            if "--dry-run" in call or "--plan-out" in call:
                continue
            assert "--yes" in call, (where, line)
            applies += 1
    assert applies >= 6  # staging and production, in each of the three examples


@pytest.mark.parametrize("line, expected", [
    (".venv/bin/flexor deploy --env staging --yes --json > out.json", [["deploy", "--env",
                                                                         "staging", "--yes",
                                                                         "--json"]]),
    ("flexor deploy --env production --dry-run || test $? -eq 2  # note",
     [["deploy", "--env", "production", "--dry-run"]]),
    ("pulumi preview --stack staging", []),
])
def test_flexor_calls_are_found_in_a_shell_line(line: str, expected: list[list[str]]) -> None:
    assert _flexor_calls(line) == expected


def _backend_lines(path: Path) -> str:
    """The lines of an example that make PULUMI_BACKEND_URL for plain `pulumi` steps."""
    lines = [line.strip() for line in path.read_text().splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith('url="postgres://'))
    end = next(i for i, line in enumerate(lines) if line.startswith("export PULUMI_BACKEND_URL"))
    return "\n".join(lines[start:end + 1])


@pytest.mark.engine  # runs bash
@pytest.mark.parametrize("example", [DIRECT], ids=["github-direct"])
@pytest.mark.parametrize("url", [
    "postgresql://ops:pw@db:5432/flexor", "postgresql://db/flexor?connect_timeout=5",
    "postgresql://db/flexor?sslmode=verify-full"])
@pytest.mark.parametrize("pgsslmode", [None, "require"])
def test_plain_pulumi_steps_derive_the_state_url_flexor_derives(
        example: Path, url: str, pgsslmode: str | None) -> None:
    env = {"FLEXOR_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    if pgsslmode:
        env["PGSSLMODE"] = pgsslmode
    script = _backend_lines(example) + '\nprintf %s "$PULUMI_BACKEND_URL"\n'
    derived = subprocess.run(["bash", "-euc", script], env=env, capture_output=True, text=True,
                             check=True).stdout
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("PGSSLMODE", raising=False)
        if pgsslmode:
            patch.setenv("PGSSLMODE", pgsslmode)
        assert derived == pulumi_backend(url)
