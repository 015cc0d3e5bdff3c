"""A provider's refusal reaches the engine as its one line, not as a Python traceback.

Pulumi's dynamic-provider server (`python -m pulumi.dynamic`, pinned SDK) answers every
exception of a provider method with `context.abort(UNKNOWN, traceback.format_exc())`, and the
engine prints that text under the resource: a refused `pulumi destroy` read like a crash. The
server offers no hook for it, and the wrapper looks `traceback` up in its module's globals at
call time; so, in the provider process only, that name is given a `format_exc` that answers a
FlexorError (an expected failure: a refusal, a damaged control plane) with its message alone.
Any other exception keeps its traceback: that one is a bug and the traceback is its report.
"""

from __future__ import annotations

import sys
import traceback
from types import ModuleType
from typing import Any

from flexor_iac.core.errors import FlexorError


class _Traceback:
    """The `traceback` module, but a FlexorError is formatted as its message."""

    def format_exc(self, *args: Any, **kwargs: Any) -> str:
        error = sys.exc_info()[1]
        if isinstance(error, FlexorError):
            return str(error)
        return traceback.format_exc(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)


def _server() -> ModuleType | None:
    """The dynamic-provider server's module, when this process is one (it runs as __main__)."""
    main = sys.modules.get("__main__")
    if main is None or not hasattr(main, "DynamicResourceProviderServicer"):
        return None
    return main if getattr(main, "traceback", None) is traceback else None


def refusals_without_traceback() -> None:
    """In a dynamic-provider process: report a FlexorError as its one line (idempotent)."""
    if (server := _server()) is not None:
        server.traceback = _Traceback()  # type: ignore[attr-defined]
