"""The Pulumi program's entry point (`Pulumi.yaml` `main: flexor_iac/program.py`, and the
`__main__.py` that `flexor init` writes): a stable name for flexor_iac/deploy/program.py, so
projects made by earlier versions keep working."""

from __future__ import annotations

from flexor_iac.deploy.program import run_for_stack

__all__ = ["run_for_stack"]

if __name__ == "__main__":
    run_for_stack()
