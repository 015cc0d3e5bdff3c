"""The L1 platform tier: standard-library actions every environment can use (read-only).

The names and argument names the validator needs (a cheap import); their behaviour and typed
arguments are in flexor_iac/runtime/actions.py (a test keeps the two equal).
"""

from __future__ import annotations

from types import MappingProxyType

# action name -> the argument names it accepts
ACTIONS: MappingProxyType[str, frozenset[str]] = MappingProxyType({
    "core.time.diff_minutes": frozenset({"from", "to"}),
    "core.logic.set_output": frozenset(),  # any names: they become the skill's outputs
    "core.notify.slack": frozenset({"channel", "message"}),
    "core.notify.email": frozenset({"to", "subject", "message"}),
    "core.notify.webhook": frozenset({"url", "payload"}),
    "core.audit.log": frozenset({"event", "result", "details"}),
    "core.reconcile.compare_positions": frozenset({"left", "right", "threshold", "key"}),
    "plexifact.catalog.get_feed_metadata": frozenset({"feed"}),
    "plexifact.positions.get_internal": frozenset({"fund_id", "as_of"}),
    "plexifact.positions.get_custodian": frozenset({"fund_id", "as_of"}),
})

# Actions whose arguments are free-form (no argument-name check).
OPEN_ARGUMENTS = frozenset({"core.logic.set_output"})


def is_library_action(name: str) -> bool:
    """Whether `name` is a standard-library action (resolved at L1 in every environment)."""
    return name in ACTIONS
