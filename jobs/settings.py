"""Settings every process shares, read from the environment (see jobs/env.py).

The README lists every variable with its default; `jobs.env.variables(Settings)` is the
list, so a test can check the README against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jobs.env import load, var

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'sales.db'}"
DEFAULT_KINDS = "kinds.reports,kinds.imports"
# Standard Webhooks' example schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
DEFAULT_WEBHOOK_SCHEDULE = "5,300,1800,7200,18000,36000,50400,72000,86400"


def normalise_database_url(url: str) -> str:
    """Accept the platform-style postgres:// URL and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@dataclass(frozen=True)
class Settings:
    """What the web, the workers and the monitor need to agree on."""

    redis_url: str = var("REDIS_URL", DEFAULT_REDIS_URL)
    celery_broker_url: str = var("CELERY_BROKER_URL", "")
    celery_result_backend: str = var("CELERY_RESULT_BACKEND", "")
    database_url: str = var("DATABASE_URL", DEFAULT_DATABASE_URL)
    monitor_database_url: str = var("MONITOR_DATABASE_URL", "")
    key_prefix: str = var("KEY_PREFIX", "ar")
    job_kinds: str = var("JOB_KINDS", DEFAULT_KINDS)
    retention_seconds: int = var("JOB_RETENTION_SECONDS", 24 * 3600)
    tombstone_seconds: int = var("JOB_TOMBSTONE_SECONDS", 7 * 24 * 3600)
    job_queue_timeout: int = var("JOB_QUEUE_TIMEOUT", 3600)
    # How long a computed result of a deterministic kind may answer identical requests
    # while the data version is unchanged (0: never reuse, always compute).
    result_reuse_seconds: int = var("RESULT_REUSE_SECONDS", 24 * 3600)
    # How long the data version read from the database (with its fingerprint of changes
    # made with plain SQL) is trusted; up to twice that it is used while one web process
    # reads it again in the background. Imports are seen at once.
    data_fingerprint_seconds: float = var("DATA_FINGERPRINT_SECONDS", 5.0)
    enable_diagnostic_types: bool = var("ENABLE_DIAGNOSTIC_REPORTS", False)
    import_max_bytes: int = var("IMPORT_MAX_BYTES", 512 * 1024 * 1024)
    task_soft_time_limit: int = var("TASK_SOFT_TIME_LIMIT", 600)
    task_time_limit: int = var("TASK_TIME_LIMIT", 660)
    task_max_retries: int = var("TASK_MAX_RETRIES", 5)
    task_max_deliveries: int = var("TASK_MAX_DELIVERIES", 3)
    # 0 means "the hard limit plus a minute" (see visibility_timeout).
    broker_visibility_timeout: int = var("BROKER_VISIBILITY_TIMEOUT", 0)
    redis_timeout: float = var("REDIS_TIMEOUT", 2.0)
    web_redis_timeout: float = var("WEB_REDIS_TIMEOUT", 1.0)
    worker_shutdown_grace: float = var("WORKER_SHUTDOWN_GRACE", 25.0)
    worker_max_tasks_per_child: int = var("WORKER_MAX_TASKS_PER_CHILD", 1000)
    worker_max_memory_per_child: int = var("WORKER_MAX_MEMORY_PER_CHILD", 512_000)
    worker_heartbeat_file: str = var("WORKER_HEARTBEAT_FILE", "/tmp/async-reports-worker.heartbeat")  # noqa: S108
    worker_heartbeat_max_age: float = var("WORKER_HEARTBEAT_MAX_AGE", 60.0)
    # Webhooks (jobs/webhooks): SSRF allowance, attempt timeout, retry delays (seconds
    # after the 1st, 2nd ... failed attempt, each scaled by jitter into [0.5, 1]).
    webhook_allow_private_networks: bool = var("WEBHOOK_ALLOW_PRIVATE_NETWORKS", False)
    webhook_timeout: float = var("WEBHOOK_TIMEOUT", 10.0)
    webhook_retry_schedule: str = var("WEBHOOK_RETRY_SCHEDULE", DEFAULT_WEBHOOK_SCHEDULE)
    webhook_poll_interval: float = var("WEBHOOK_POLL_INTERVAL", 1.0)
    webhook_max_retry_after: int = var("WEBHOOK_MAX_RETRY_AFTER", 24 * 3600)
    webhook_secret_overlap: int = var("WEBHOOK_SECRET_OVERLAP", 24 * 3600)
    # Fair sharing between clients (jobs/store/fairness.py): jobs wait in per-client
    # backlogs in Redis, started round robin (CLIENT_WEIGHTS, e.g. "alice:2,bob:1"),
    # and only the worker slots plus FAIR_BROKER_MARGIN unstarted jobs sit in the broker.
    fair_sharing: bool = var("FAIR_SHARING", True)
    fair_broker_margin: int = var("FAIR_BROKER_MARGIN", 2)
    client_weights: str = var("CLIENT_WEIGHTS", "")
    # Per-client quotas (0 or empty: no limit): unfinished jobs, submissions per minute.
    client_max_unfinished: int = var("CLIENT_MAX_UNFINISHED", 0)
    client_submits_per_minute: int = var("CLIENT_SUBMITS_PER_MINUTE", 0)
    log_format: str = var("LOG_FORMAT", "json")
    log_level: str = var("LOG_LEVEL", "info")

    def __post_init__(self) -> None:
        object.__setattr__(self, "database_url", normalise_database_url(self.database_url))
        # Celery arms the hard limit only when the soft one fires: soft >= hard would
        # stretch the hard limit; a visibility timeout under it would run jobs twice.
        if 0 < self.task_time_limit <= self.task_soft_time_limit:
            raise SystemExit("TASK_SOFT_TIME_LIMIT must be below TASK_TIME_LIMIT (or 0: none)")
        if self.visibility_timeout <= self.task_time_limit:
            raise SystemExit("BROKER_VISIBILITY_TIMEOUT must exceed TASK_TIME_LIMIT")
        try:
            schedule = self.webhook_delays
        except ValueError:
            raise SystemExit("WEBHOOK_RETRY_SCHEDULE must be seconds separated by commas") from None
        if any(d < 0 for d in schedule):
            raise SystemExit("WEBHOOK_RETRY_SCHEDULE must not hold negative delays")
        try:
            weights = self.weights
        except ValueError:
            raise SystemExit('CLIENT_WEIGHTS must be "client:weight,..."') from None
        if any(not 1 <= w <= 1000 for w in weights.values()):
            raise SystemExit("CLIENT_WEIGHTS must give each client a weight from 1 to 1000")
        if self.fair_broker_margin < 0:
            raise SystemExit("FAIR_BROKER_MARGIN must not be negative")
        if self.log_format.strip().lower() not in {"json", "text"}:
            raise SystemExit(f"LOG_FORMAT must be json or text, got {self.log_format!r}")

    @property
    def broker_url(self) -> str:
        """The Celery broker (CELERY_BROKER_URL, else REDIS_URL)."""
        return self.celery_broker_url or self.redis_url

    @property
    def result_backend_url(self) -> str:
        """Celery's result backend and our job store (CELERY_RESULT_BACKEND, else REDIS_URL)."""
        return self.celery_result_backend or self.redis_url

    @property
    def history_database_url(self) -> str:
        """Where the job history lives (MONITOR_DATABASE_URL, else DATABASE_URL)."""
        url = self.monitor_database_url
        return normalise_database_url(url) if url else self.database_url

    @property
    def kind_modules(self) -> tuple[str, ...]:
        """The modules that declare the job kinds this deployment serves."""
        return tuple(m.strip() for m in self.job_kinds.split(",") if m.strip())

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

    @property
    def webhook_delays(self) -> tuple[float, ...]:
        """Seconds before each retry of a webhook delivery (before jitter)."""
        raw = self.webhook_retry_schedule
        return tuple(float(p) for p in raw.split(",") if p.strip())

    @property
    def webhook_lease(self) -> float:
        """Seconds a delivery handed to a webhook worker is reserved for it: an attempt
        that did not report back by then (its worker died) is handed out again."""
        return 2 * self.webhook_timeout + 10

    @property
    def weights(self) -> dict[str, int]:
        """CLIENT_WEIGHTS as {client: weight}; a client not named weighs 1."""
        out: dict[str, int] = {}
        for item in filter(None, (p.strip() for p in self.client_weights.split(","))):
            name, _, weight = item.rpartition(":")
            if not name:
                raise ValueError(item)
            out[name.strip()] = int(weight)
        return out

    @property
    def json_logs(self) -> bool:
        """One JSON object per log line (LOG_FORMAT=json), else plain text."""
        return self.log_format.strip().lower() == "json"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build settings from environment variables (see the README for the list)."""
        return load(cls, environ)
