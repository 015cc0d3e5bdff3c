"""Retention, applied by `flexor serve` every hour (and at start) on either store: runs and
their log lines and messages older than their vault's `audit.retention_days` go whether or not
the agent runs again (a paused, removed or rarely triggered agent's too; a vault no longer
bound keeps the default, 90 days); servers silent for a day are forgotten; on PostgreSQL the
job queue's failed jobs (with their webhook bodies) and old periodic-defer marks go after a
day; files uploaded to the team server and plans saved on it after 30 days, and keys minted
for CI jobs' OIDC tokens 30 days after they expired. Runs go in small
batches (controlplane/runs.py), so no run waits long behind them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.project.models import AuditSettings

INTERVAL = 3600.0  # seconds between two prunings of one server
DEFAULT_DAYS: int = AuditSettings.model_fields["retention_days"].default
GONE = timedelta(days=1)  # a server silent this long, a finished queue row this old
UPLOADS = timedelta(days=30)  # files clients uploaded to the team server, plans saved on it
EXCHANGED_KEYS = timedelta(days=30)  # past their expiry: keys minted for OIDC tokens


@dataclass(frozen=True)
class Pruned:
    """What one pruning removed."""

    runs: int
    servers: int
    queue: int
    uploads: int = 0  # the team server's uploaded files and saved plans
    keys: int = 0  # expired keys minted for OIDC tokens

    def __bool__(self) -> bool:
        return bool(self.runs or self.servers or self.queue or self.uploads or self.keys)


def retention_days(store: ControlPlane, environment: str, vault: str | None) -> int:
    """How long the runs of `vault` in `environment` are kept: the bound vault.json's
    `audit.retention_days`, else the default."""
    spec = store.binding_spec(environment, vault) if vault else None
    audit = ((spec or {}).get("config") or {}).get("audit") or {}
    days = audit.get("retention_days") if isinstance(audit, dict) else None
    return days if isinstance(days, int) and not isinstance(days, bool) and days > 0 \
        else DEFAULT_DAYS


def prune(store: ControlPlane, now: datetime) -> Pruned:
    """Apply every retention rule once."""
    runs = sum(store.prune_runs(env, vault, now - timedelta(days=retention_days(
        store, env, vault))) for env, vault in store.run_groups())
    return Pruned(runs, store.prune_servers(now - GONE), store.prune_queue(now - GONE),
                  store.prune_server_files(now - UPLOADS),
                  store.prune_exchanged_keys(now - EXCHANGED_KEYS))
