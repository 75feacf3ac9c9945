"""The worker runtime: the Celery app, one task per job type, the generic task body.

Never imports Flask or `app`; a kind's computation is loaded from its `executor`.
"""

from worker.celery_app import app

__all__ = ["app"]
