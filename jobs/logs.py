"""Structured (JSON) logs for every process, carrying the request id and the job id.

The web sets the request id per request; it travels to the worker in a task message
header (`request_id`), so one job can be followed across processes by either id.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from jobs.settings import Settings

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
JOB_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)
REQUEST_ID_HEADER = "request_id"  # Celery message header carrying the HTTP request id


class ContextFilter(logging.Filter):
    """Adds `request_id`, `job_id` and `process_type` to every record (when known)."""

    def __init__(self, process_type: str) -> None:
        super().__init__()
        self.process_type = process_type

    def filter(self, record: logging.LogRecord) -> bool:
        """Fill the ids from the context unless the call passed them in `extra`."""
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        if getattr(record, "job_id", None) is None:
            record.job_id = JOB_ID.get()
        record.process_type = self.process_type
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time, level, logger, message, ids, and any extras."""
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(processName)s %(message)s",
        rename_fields={
            "asctime": "time",
            "levelname": "level",
            "name": "logger",
            "processName": "process",
        },
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def text_formatter() -> logging.Formatter:
    """Plain lines for a developer's terminal (LOG_FORMAT=text)."""
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(job_id)s] %(message)s")


def configure_logging(process_type: str, settings: Settings, level: str | None = None) -> None:
    """Send the root logger's records to stdout as JSON (or text when LOG_FORMAT=text)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(json_formatter() if settings.json_logs else text_formatter())
    handler.addFilter(ContextFilter(process_type))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or settings.log_level).upper())


SUCCESS_LINE = "Task %(name)s[%(id)s] succeeded in %(runtime)ss"


class DropReturnValue(logging.Filter):
    """Remove a task's return value (a whole report) from Celery's success records.

    Celery passes it as the record's args and as `extra={"data": ...}`, which the JSON
    formatter would write out in full.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record, without `return_value`."""
        data = getattr(record, "data", None)
        if isinstance(data, dict) and "return_value" in data:
            record.data = {k: v for k, v in data.items() if k != "return_value"}
        if isinstance(record.args, dict) and "return_value" in record.args:
            record.args = {k: v for k, v in record.args.items() if k != "return_value"}
        return True


def install_worker_hooks(settings: Settings) -> None:
    """Worker side: JSON logging, and the job id + request id set around each task."""
    from celery import signals
    from celery.app import trace

    # Celery's success line carries the task's return value, a whole report at INFO:
    # keep the id and the run time, never report data.
    trace.LOG_SUCCESS = SUCCESS_LINE
    logging.getLogger("celery.app.trace").addFilter(DropReturnValue())

    @signals.setup_logging.connect(weak=False)
    def _setup(loglevel: Any = None, **_: Any) -> None:
        # Connecting this signal stops Celery from configuring logging itself.
        level = logging.getLevelName(loglevel) if loglevel else None
        configure_logging("worker", settings, level)

    @signals.task_prerun.connect(weak=False)
    def _enter(task_id: str | None = None, task: Any = None, **_: Any) -> None:
        JOB_ID.set(task_id)
        REQUEST_ID.set(getattr(task.request, REQUEST_ID_HEADER, None) if task else None)

    @signals.task_postrun.connect(weak=False)
    def _leave(**_: Any) -> None:
        JOB_ID.set(None)
        REQUEST_ID.set(None)


def install_producer_hook() -> None:
    """Web side: put the current request id into every task message it publishes."""
    from celery import signals

    @signals.before_task_publish.connect(weak=False)
    def _tag(headers: dict[str, Any] | None = None, **_: Any) -> None:
        rid = REQUEST_ID.get()
        if rid and headers is not None:
            headers.setdefault(REQUEST_ID_HEADER, rid)
