"""The one error hierarchy; main.py turns each into a one-line message and its exit code."""

from __future__ import annotations

from flexor_iac.core.constants import ExitCode


class FlexorError(Exception):
    """An expected failure with a one-line message for the user."""

    exit_code: ExitCode = ExitCode.FAILED


class UsageError(FlexorError):
    """Wrong flags, arguments or invocation."""

    exit_code = ExitCode.USAGE


class ProjectNotFound(UsageError):
    """No Pulumi.yaml at or above the given directory."""


class InvalidProject(FlexorError):
    """The project, or a vault snapshot it binds, has errors; each was reported as a
    diagnostic (`path:line:col: error: … [rule]`) before this was raised."""


class ToolchainError(FlexorError):
    """The Pulumi toolchain is missing or unusable; the message names the fix."""


class EngineError(FlexorError):
    """The Pulumi engine reported a failure (preview or update)."""


class PolicyRefusal(FlexorError):
    """Refused by policy before anything was applied (declaration, scope, window, version, lock)."""

    exit_code = ExitCode.REFUSED


class StateError(FlexorError):
    """A local file the tool keeps (state, control plane, passphrase) is damaged or missing;
    the message names the file and the way out."""
