"""Monitor configuration: defaults plus environment variables (listed in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from jobs.settings import Settings, env_float, normalise_database_url


@dataclass(frozen=True)
class MonitorSettings:
    """Where the history goes and how the event consumer behaves."""

    shared: Settings
    database_url: str
    reconnect_max_seconds: float = 10.0
    queue_sample_seconds: float = 5.0
    queue_sample_keep_seconds: float = 7 * 24 * 3600

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> MonitorSettings:
        """MONITOR_DATABASE_URL (default: DATABASE_URL) plus the shared settings."""
        env = dict(os.environ if environ is None else environ)
        shared = Settings.from_env(env)
        url = env.get("MONITOR_DATABASE_URL")
        return cls(
            shared=shared,
            database_url=normalise_database_url(url) if url else shared.database_url,
            reconnect_max_seconds=env_float("MONITOR_RECONNECT_MAX_SECONDS", 10.0, env),
            queue_sample_seconds=env_float("MONITOR_QUEUE_SAMPLE_SECONDS", 5.0, env),
        )
