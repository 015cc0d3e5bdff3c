"""Engine tests run the real Pulumi CLI built by scripts/setup; they fail loudly without it."""

from __future__ import annotations

import pytest

from flexor_iac.deploy.toolchain import pulumi_bin_dir


@pytest.fixture(autouse=True)
def _toolchain() -> None:
    # No skip: a missing toolchain is a broken set-up, and CI must say so.
    pulumi_bin_dir()
