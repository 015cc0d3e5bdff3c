"""Vault snapshots hold the vault's regular files only, never what a link leads to outside."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import FlexorError
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.deployment import view
from flexor_iac.deploy.snapshots import publish, snapshot_directory, snapshot_folder
from flexor_iac.project.loading import load_project


def test_a_snapshot_leaves_out_special_files_and_links_leaving_the_vault(
        project: Path, tmp_path: Path) -> None:
    vault_dir = project / "vaults" / "company"
    (tmp_path / "secret.md").write_text("the-secret\n")
    (vault_dir / "knowledge" / "passwd").symlink_to("/etc/passwd")
    (vault_dir / "knowledge" / "secret.md").symlink_to(tmp_path / "secret.md")
    (vault_dir / "knowledge" / "zero").symlink_to("/dev/zero")
    os.mkfifo(vault_dir / "knowledge" / "pipe")
    (vault_dir / "knowledge" / "sla.md").symlink_to("sla-thresholds.md")  # inside: kept
    (vault_dir / "knowledge" / "elsewhere").symlink_to(tmp_path)           # a folder outside
    project_model, _diagnostics = load_project(project)
    vault = project_model.vault("company")
    assert vault is not None
    assert sorted(name for name, _refused in vault.refused) == [
        "knowledge/elsewhere", "knowledge/passwd", "knowledge/pipe", "knowledge/secret.md",
        "knowledge/zero"]
    paths = ProjectPaths(project)
    with ControlPlane(locate(project)) as store:
        published = publish(paths, vault, store)
    assert published.files == ("knowledge/sla-thresholds.md", "knowledge/sla.md",
                               "rules/notification-routing.md",
                               "skills/data-freshness-check.yaml", "vault.json")
    copied = snapshot_directory(paths, published.digest)
    assert sorted(p.relative_to(copied).as_posix() for p in copied.rglob("*")
                  if p.is_file()) == list(published.files)
    assert all(not p.is_symlink() for p in copied.rglob("*"))
    assert (copied / "knowledge" / "sla.md").read_text() == \
        (vault_dir / "knowledge" / "sla-thresholds.md").read_text()


def test_a_vault_file_swapped_for_a_link_after_the_listing_is_not_published(
        project: Path, tmp_path: Path) -> None:
    vault_dir = project / "vaults" / "company"
    (tmp_path / "secret.md").write_text("the-secret\n")
    project_model, _diagnostics = load_project(project)
    vault = project_model.vault("company")
    assert vault is not None and "knowledge/sla-thresholds.md" in vault.files
    swapped = vault_dir / "knowledge" / "sla-thresholds.md"
    swapped.unlink()  # after the listing examined it, before the snapshot reads it
    swapped.symlink_to(tmp_path / "secret.md")
    paths = ProjectPaths(project)
    with ControlPlane(locate(project)) as store, pytest.raises(
            FlexorError, match=r"vaults/company/knowledge/sla-thresholds\.md: replaced by "
                               r"another file after it was checked; only regular files are read"):
        publish(paths, vault, store)
    with ControlPlane(locate(project)) as store:
        assert store.newest_snapshot("company") is None
    assert not any(b"the-secret" in p.read_bytes()
                   for p in (paths.state_dir / "snapshots").rglob("*") if p.is_file())


def test_a_clone_that_never_synced_deploys_the_snapshot_the_control_plane_holds(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared.db"  # one control plane for two clones (a team database's role)
    monkeypatch.setenv("FLEXOR_CONTROL_PLANE", str(shared))
    first, _diagnostics = load_project(project)
    vault = first.vault("company")
    assert vault is not None
    with ControlPlane(shared) as store:
        published = publish(ProjectPaths(project), vault, store)
    clone = tmp_path / "clone"
    shutil.copytree(project, clone, ignore=shutil.ignore_patterns(".flexor"))
    second, _diagnostics = load_project(clone)
    with ControlPlane(shared) as store:
        bound = view(ProjectPaths(clone), second, Environment.STAGING, store)
    assert bound.snapshots == {"company": published.digest}
    written = snapshot_directory(ProjectPaths(clone), published.digest)
    assert (written / "vault.json").read_bytes() == \
        (project / "vaults" / "company" / "vault.json").read_bytes()


def test_a_snapshot_with_no_content_anywhere_is_one_clear_error(project: Path) -> None:
    paths = ProjectPaths(project)
    with ControlPlane(locate(project)) as store:
        store.publish_snapshot("sha256:" + "ab" * 32, "company", ["vault.json"])  # no content
        with pytest.raises(FlexorError, match=r"snapshot sha256:abababababab… has no content "
                                              r"here or in the control plane"):
            snapshot_folder(paths, store, "sha256:" + "ab" * 32)
