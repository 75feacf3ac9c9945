"""The background side: Celery app, tasks and report computations. Never imports Flask."""

from worker.celery_app import app

__all__ = ["app"]
