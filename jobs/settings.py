"""Settings shared by every process, read from the environment with defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'sales.db'}"


def env_int(name: str, default: int, environ: dict[str, str] | None = None) -> int:
    """Read an integer variable, failing loudly (not silently) on a bad value."""
    raw = (environ if environ is not None else os.environ).get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float, environ: dict[str, str] | None = None) -> float:
    """Read a number variable, failing loudly on a bad value."""
    raw = (environ if environ is not None else os.environ).get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from None


def env_bool(name: str, default: bool, environ: dict[str, str] | None = None) -> bool:
    """Read a yes/no variable (1/true/yes/on)."""
    raw = (environ if environ is not None else os.environ).get(name, "").strip().lower()
    if not raw:
        return default
    return raw in {"1", "true", "yes", "on"}


def normalise_database_url(url: str) -> str:
    """Accept the platform-style postgres:// URL and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@dataclass(frozen=True)
class Settings:
    """What both the web and the worker side need to agree on."""

    redis_url: str = DEFAULT_REDIS_URL
    broker_url: str = DEFAULT_REDIS_URL
    result_backend_url: str = DEFAULT_REDIS_URL
    database_url: str = DEFAULT_DATABASE_URL
    key_prefix: str = "ar"
    retention_seconds: int = 24 * 3600
    tombstone_seconds: int = 7 * 24 * 3600
    task_soft_time_limit: int = 600
    task_time_limit: int = 660
    redis_timeout: float = 2.0
    web_redis_timeout: float = 1.0
    enable_diagnostic_reports: bool = False
    # 0 means "the hard limit plus a minute" (see visibility_timeout).
    broker_visibility_timeout: int = 0
    worker_shutdown_grace: float = 25.0
    worker_max_tasks_per_child: int = 1000
    worker_max_memory_per_child: int = 512_000
    job_queue_timeout: int = 3600
    task_max_retries: int = 5
    task_max_deliveries: int = 3

    def __post_init__(self) -> None:
        # Celery arms the hard limit only when the soft one fires: soft >= hard would
        # stretch the hard limit; a visibility timeout under it would run jobs twice.
        if 0 < self.task_time_limit <= self.task_soft_time_limit:
            raise SystemExit("TASK_SOFT_TIME_LIMIT must be below TASK_TIME_LIMIT (or 0: none)")
        if self.visibility_timeout <= self.task_time_limit:
            raise SystemExit("BROKER_VISIBILITY_TIMEOUT must exceed TASK_TIME_LIMIT")

    @property
    def visibility_timeout(self) -> int:
        """Seconds before Redis hands an unacknowledged job to another worker.

        It must exceed the hard time limit, or a job still running is delivered twice.
        """
        return self.broker_visibility_timeout or self.task_time_limit + 60

    @property
    def restore_interval(self) -> int:
        """Seconds between workers' scans for unacknowledged jobs past the visibility timeout."""
        return min(10, max(1, self.visibility_timeout // 4))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build settings from environment variables (see the README for the list)."""
        env = dict(os.environ if environ is None else environ)
        redis_url = env.get("REDIS_URL") or DEFAULT_REDIS_URL
        return cls(
            redis_url=redis_url,
            broker_url=env.get("CELERY_BROKER_URL") or redis_url,
            result_backend_url=env.get("CELERY_RESULT_BACKEND") or redis_url,
            database_url=normalise_database_url(env.get("DATABASE_URL") or DEFAULT_DATABASE_URL),
            key_prefix=env.get("KEY_PREFIX") or "ar",
            retention_seconds=env_int("JOB_RETENTION_SECONDS", 24 * 3600, env),
            tombstone_seconds=env_int("JOB_TOMBSTONE_SECONDS", 7 * 24 * 3600, env),
            task_soft_time_limit=env_int("TASK_SOFT_TIME_LIMIT", 600, env),
            task_time_limit=env_int("TASK_TIME_LIMIT", 660, env),
            redis_timeout=env_float("REDIS_TIMEOUT", 2.0, env),
            web_redis_timeout=env_float("WEB_REDIS_TIMEOUT", 1.0, env),
            enable_diagnostic_reports=env_bool("ENABLE_DIAGNOSTIC_REPORTS", False, env),
            broker_visibility_timeout=env_int("BROKER_VISIBILITY_TIMEOUT", 0, env),
            worker_shutdown_grace=env_float("WORKER_SHUTDOWN_GRACE", 25.0, env),
            worker_max_tasks_per_child=env_int("WORKER_MAX_TASKS_PER_CHILD", 1000, env),
            worker_max_memory_per_child=env_int("WORKER_MAX_MEMORY_PER_CHILD", 512_000, env),
            job_queue_timeout=env_int("JOB_QUEUE_TIMEOUT", 3600, env),
            task_max_retries=env_int("TASK_MAX_RETRIES", 5, env),
            task_max_deliveries=env_int("TASK_MAX_DELIVERIES", 3, env),
        )
