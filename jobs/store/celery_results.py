"""Celery's Redis result backend, storing a state in one round trip instead of two.

Celery's `store_result` GETs the stored meta before every write (a SUCCESS must not be
overwritten by a lost or redelivered run), then SETs and PUBLISHes it: two round trips
per state, and a trivial job stores two (STARTED, SUCCESS). Here the check and the
write are one Lua script (`scripts/store_result.lua`): same keys, same expiries, same
message on the key's channel (which long polls and Celery's own result consumers read),
same refusal to overwrite a SUCCESS. A job's SUCCESS is stored by its record's end
(`jobs/store/scripts/finish.lua`); the tracer's store of it after that is skipped, not
sent. Only the workers use it (`jobs.clients.worker_celery`).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from celery import states
from celery.backends.redis import RedisBackend
from celery.exceptions import BackendStoreError
from kombu.serialization import dumps
from kombu.utils.encoding import bytes_to_str
from redis.commands.core import Script

from jobs.store.connection import lua

# How `result_backend` names this class in front of the Redis URL (Celery's
# `<backend>+<url>` form, as in `db+postgresql://...`).
BACKEND = "jobs.store.celery_results:OneTripRedisBackend"


def backend_url(redis_url: str) -> str:
    """The `result_backend` setting that selects this backend for `redis_url`."""
    return f"{BACKEND}+{redis_url}"


def started_meta(task_id: str, pid: int, hostname: str) -> str:
    """The meta Celery's tracer stores for a task that starts (`task_track_started`),
    encoded as the backend encodes it: the claim script stores it (claim.lua), so a run's
    start is one round trip of ours, not one more of Celery's."""
    meta: dict[str, Any] = {
        "status": states.STARTED,
        "result": {"pid": pid, "hostname": hostname},
        "traceback": None,
        "children": [],
        "date_done": None,
        "task_id": task_id,
    }
    return str(dumps(meta, serializer="json")[2])


# Tasks whose SUCCESS their record stored, not yet seen by the tracer, kept at most.
STORED_MARKS = 1000


class OneTripRedisBackend(RedisBackend):
    """RedisBackend whose store_result is one EVALSHA (check, write and publish), and
    none for a SUCCESS that the job's record stored with its end (`stored_with_record`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stored: set[str] = set()

    def stored_with_record(self, task_id: str) -> None:
        """The run's end stored this task's SUCCESS meta (jobs/store/scripts/finish.lua:
        the same key, expiry and announcement on the key's channel; status, result and
        date as Celery writes them, without the task id): Celery's store of it, which
        follows and could only find a SUCCESS it must not overwrite, is skipped (one
        round trip fewer a job).
        A mark never spent (a task whose result Celery did not store: a request that asked
        it not to) is forgotten with the rest past STORED_MARKS: a skip missed, no more."""
        if len(self._stored) >= STORED_MARKS:
            self._stored.clear()
        self._stored.add(task_id)

    @cached_property
    def _store_script(self) -> Script:
        return self.client.register_script(lua("celery_meta") + lua("store_result"))

    def _store_result(
        self,
        task_id: str,
        result: Any,
        state: str,
        traceback: Any = None,
        request: Any = None,
        **kwargs: Any,
    ) -> Any:
        if task_id in self._stored:
            self._stored.discard(task_id)
            if state == states.SUCCESS:
                return result
        # celery-types does not declare these attributes of the backend classes.
        backend: Any = self
        meta = backend._get_result_meta(
            result=result, state=state, traceback=traceback, request=request
        )
        meta["task_id"] = bytes_to_str(task_id)
        value = self.encode(meta)
        if isinstance(value, str) and len(value) > self._MAX_STR_VALUE_SIZE:
            raise BackendStoreError(
                "value too large for Redis backend", state=state, task_id=task_id
            )
        expires = backend.failure_expires if state == states.FAILURE else backend.expires
        key = self.get_key_for_task(task_id)
        self.ensure(self._store_unless_succeeded, (key, value, expires))
        return result

    def _store_unless_succeeded(self, key: str, value: Any, expires: int | None) -> Any:
        return self._store_script(keys=[key], args=[value, int(expires or 0)])
