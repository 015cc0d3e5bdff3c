"""The guard that keeps every test inside its temp dir really stops a stray write."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO, WriteGuard, WriteOutsideSandbox, unsalted


def test_writing_inside_tmp_path_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("fine")
    assert (tmp_path / "ok.txt").read_text() == "fine"


def test_writing_into_the_repository_is_stopped(write_guard: WriteGuard) -> None:
    target = REPO / "stray-file-from-a-test.txt"
    with pytest.raises(WriteOutsideSandbox, match=re.escape("stray-file-from-a-test.txt")):
        target.write_text("should never land")
    write_guard.active = True
    assert not target.exists()


def test_writing_to_home_outside_tmp_is_stopped(write_guard: WriteGuard) -> None:
    with pytest.raises(WriteOutsideSandbox):
        Path("/root/.flexor-guard-probe").open("a").close()
    write_guard.active = True


def test_reading_anywhere_is_allowed() -> None:
    assert "flexor" in (REPO / "Pulumi.yaml").read_text()


def test_the_project_copy_drops_a_salt_the_checkout_may_carry() -> None:
    salted = "encryptionsalt: v1:abc=\nconfig:\n  flexor:environment: staging\n"
    assert unsalted(salted) == "config:\n  flexor:environment: staging\n"
