"""`flexor history --agent` picks updates by the agent names recorded, not by substring."""

from __future__ import annotations

from flexor_iac.commands.history import changed_agents


def test_agent_names_are_read_from_the_update_message() -> None:
    message = "flexor deploy --env staging: feed-monitor 1.0 → 1.1, probe + → 0.1"
    assert changed_agents(message) == ["feed-monitor", "probe"]
    assert "monitor" not in changed_agents(message)
    assert changed_agents("flexor deploy --env staging") == []
    assert changed_agents("flexor rollback --env staging: feed-monitor 1.3 → 1.2") == [
        "feed-monitor"]
