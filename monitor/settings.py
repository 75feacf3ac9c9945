"""Monitor configuration: defaults plus environment variables (listed in the README)."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.env import load, var


@dataclass(frozen=True)
class MonitorSettings:
    """How the event consumer and the queue sampler behave."""

    reconnect_max_seconds: float = var("MONITOR_RECONNECT_MAX_SECONDS", 10.0)
    queue_sample_seconds: float = var("MONITOR_QUEUE_SAMPLE_SECONDS", 5.0)
    queue_sample_keep_seconds: float = var("MONITOR_QUEUE_SAMPLE_KEEP_SECONDS", 7 * 24 * 3600.0)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> MonitorSettings:
        """Build monitor settings from environment variables."""
        return load(cls, environ)
