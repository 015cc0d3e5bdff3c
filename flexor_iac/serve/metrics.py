"""What /metrics shows (Prometheus text, prometheus-client): runs by status, run duration,
trigger lag (from when a trigger was due to when its run started) and queue depth."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    """One server's metrics, in a registry of its own."""

    def __init__(self, environment: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"environment": environment}
        self.runs = Counter("flexor_runs", "Runs finished, by status and trigger",
                            ["status", "trigger"], registry=self.registry).labels
        self.skipped = Counter("flexor_jobs_skipped", "Fired triggers that did not run "
                               "(paused, undeployed, or recorded already)", ["trigger"],
                               registry=self.registry).labels
        self.duration = Histogram("flexor_run_duration_seconds", "Run duration",
                                  ["trigger"], buckets=_DURATION_BUCKETS,
                                  registry=self.registry).labels
        self.lag = Histogram("flexor_trigger_lag_seconds", "From a trigger being due to its "
                             "run starting", ["trigger"], buckets=_LAG_BUCKETS,
                             registry=self.registry).labels
        self.queue_depth = Gauge("flexor_queue_depth", "Fired triggers waiting for a worker",
                                 registry=self.registry)
        self.running = Gauge("flexor_runs_in_progress", "Runs in progress on this server",
                             registry=self.registry)
        self.scheduled = Gauge("flexor_scheduled_agents", "Scheduled agents this server fires",
                               registry=self.registry)
        Gauge("flexor_server_info", "This server", list(labels),
              registry=self.registry).labels(**labels).set(1)

    def text(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
