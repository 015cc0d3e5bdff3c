"""Files that make any directory a Flexor project that `pulumi` can run directly."""

from __future__ import annotations

# A project outside this repository points Pulumi.yaml `main:` at this one-line program,
# which runs the installed flexor_iac program (this repository points at flexor_iac/program.py).
PROGRAM_FILE = "__main__.py"
PROGRAM_TEXT = '''"""This Flexor project's Pulumi program (Pulumi.yaml `main:`)."""

from flexor_iac.program import run_for_stack

run_for_stack()
'''
