"""The job history tables: what the monitor records from Celery events, kept in SQL.

They outlive job records and results in Redis (JOB_RETENTION_SECONDS), so operations can
look back. The monitor writes them (recorder.py); the web reads them (queries.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
)

from jobs.states import State

metadata = MetaData()

job_history = Table(
    "job_history",
    metadata,
    Column("id", String(64), primary_key=True),  # Celery task id == job id
    Column("task_name", String(128), nullable=False, default=""),
    Column("kind", String(32), nullable=False, default=""),
    Column("job_type", String(64), nullable=False, default=""),
    Column("state", String(16), nullable=False, default=State.QUEUED.value),
    Column("worker", String(255)),
    Column("retries", Integer, nullable=False, default=0),
    Column("sent_at", Float),
    Column("received_at", Float),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("duration", Float),
    Column("error", Text),  # JSON problem details (or Celery's exception text)
    Column("updated_at", Float, nullable=False),
    Index("ix_job_history_sent_at", "sent_at"),
    Index("ix_job_history_finished_at", "finished_at"),
    Index("ix_job_history_state", "state"),
)

job_events = Table(
    "job_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Column("hostname", String(255)),
    Column("detail", Text),
    Index("ix_job_events_job_id", "job_id"),
)

queue_depth = Table(
    "queue_depth",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("queue", String(128), nullable=False),
    Column("depth", Integer, nullable=False),
    Index("ix_queue_depth_at", "at"),
)

worker_status = Table(
    "worker_status",
    metadata,
    Column("hostname", String(255), primary_key=True),
    Column("online", Integer, nullable=False, default=1),
    Column("last_heartbeat", Float, nullable=False),
    Column("freq", Float, nullable=False, default=2.0),
    Column("active", Integer, nullable=False, default=0),
    Column("processed", Integer, nullable=False, default=0),
    Column("loadavg", String(64)),
    Column("software", String(64)),
)

TERMINAL = frozenset({State.SUCCEEDED.value, State.FAILED.value, State.CANCELLED.value})
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def make_engine(url: str) -> Engine:
    """An engine for the history database (SQLite in WAL mode so readers never block)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=2, max_overflow=2, connect_args={"connect_timeout": 5}
    )


def create_tables(engine: Engine) -> None:
    """Create the tables if missing; bring a history written before job kinds up to date."""
    metadata.create_all(engine, checkfirst=True)
    columns = {c["name"] for c in inspect(engine).get_columns("job_history")}
    with engine.begin() as conn:
        if "report_type" in columns and "job_type" not in columns:
            conn.exec_driver_sql("ALTER TABLE job_history RENAME COLUMN report_type TO job_type")
        if "kind" not in columns:
            conn.exec_driver_sql(
                "ALTER TABLE job_history ADD COLUMN kind VARCHAR(32) NOT NULL DEFAULT 'report'"
            )
