"""In a dynamic-provider process, the SDK server reports a FlexorError as its message alone."""

from __future__ import annotations

import sys
import traceback
from types import ModuleType

import pytest

from flexor_iac.core.errors import PolicyRefusal
from flexor_iac.resources.refusals import refusals_without_traceback


class DynamicResourceProviderServicer:
    """Stands for the SDK's servicer class, by name (the module is what matters)."""


def _server(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    server = ModuleType("__main__")
    server.traceback = traceback  # type: ignore[attr-defined]
    server.DynamicResourceProviderServicer = DynamicResourceProviderServicer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "__main__", server)
    return server


def test_a_refusal_is_its_message_and_a_bug_keeps_its_traceback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    server = _server(monkeypatch)
    refusals_without_traceback()
    refusals_without_traceback()  # idempotent
    formatter = server.traceback  # type: ignore[attr-defined]
    assert formatter is not traceback
    try:
        raise PolicyRefusal("refused: `pulumi destroy` on production needs a key")
    except PolicyRefusal:
        assert formatter.format_exc() == "refused: `pulumi destroy` on production needs a key"
    try:
        raise KeyError("__provider")
    except KeyError:
        assert formatter.format_exc().startswith("Traceback (most recent call last):")
    assert formatter.print_exc is traceback.print_exc


def test_another_main_module_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    other = ModuleType("__main__")
    other.traceback = traceback  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "__main__", other)
    refusals_without_traceback()
    assert other.traceback is traceback  # type: ignore[attr-defined]
