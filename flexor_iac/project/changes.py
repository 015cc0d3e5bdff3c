"""`validate --changed`: the files changed against the git merge base, and what references them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from flexor_iac.core.errors import UsageError
from flexor_iac.project.loading import Project
from flexor_iac.project.models import SkillTask
from flexor_iac.project.resolve import called_names


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=False, timeout=60)
    except OSError as error:
        raise UsageError(f"--changed needs git: {error.strerror}") from None
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or ["git failed"]
        raise UsageError(f"--changed: git {args[0]} failed: {detail[0]}")
    return done.stdout


def default_branch(root: Path) -> str:
    """origin's default branch if known, else `main` or `master`, whichever exists."""
    origin = subprocess.run(["git", "symbolic-ref", "--short", "refs/remotes/origin/HEAD"],
                            cwd=root, capture_output=True, text=True, check=False)
    if origin.returncode == 0 and origin.stdout.strip():
        return origin.stdout.strip()
    for name in ("main", "master"):
        done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", name], cwd=root,
                              capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return name
    raise UsageError("--changed: no default branch (main, master or origin/HEAD); pass --base REV")


def changed_files(root: Path, base: str | None) -> set[str]:
    """Project-relative paths changed since the merge base with `base` (or the default branch)."""
    merge_base = _git(root, "merge-base", "HEAD", base or default_branch(root)).strip()
    changed = _git(root, "diff", "--name-only", "--relative", merge_base, "--").split()
    untracked = _git(root, "ls-files", "--others", "--exclude-standard").split()
    return set(changed) | set(untracked)


def with_referrers(project: Project, files: set[str]) -> set[str]:
    """`files` plus the agent and skill files that reference a changed skill or vault."""
    skills = {s.spec.name for v in project.vaults for s in v.skills if s.path in files}
    vaults = {v.config.name for v in project.vaults if any(
        f.startswith(f"vaults/{v.directory}/") for f in files)}
    everything = "Pulumi.yaml" in files
    found = set(files)
    for agent in project.agents:
        uses = {t.skill for t in agent.spec.tasks if isinstance(t, SkillTask)}
        vault = project.agent_vault(agent.spec)
        if everything or uses & skills or (vault and vault.config.name in vaults):
            found.add(agent.path)
    for vault in project.vaults:
        for skill in vault.skills:
            if set(called_names(skill.spec.steps)) & skills:
                found.add(skill.path)
    return found
