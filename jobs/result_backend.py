"""Celery's Redis result backend, except that a state that is not final never replaces a
final one.

Celery stores a state in two round trips (it reads the stored state, skips the write if
it is SUCCESS, then writes), so a run's STARTED that was read before another worker's
success and written after it replaced that success: a worker cut off at the start of a
run, healed, clobbered the result of the run that completed the job elsewhere. Here a
state that is not final (STARTED, RETRY, our PROGRESS) is written by one script that
refuses when the stored state is final (SUCCESS, FAILURE, REVOKED). Final states are
written as Celery writes them.
"""

from __future__ import annotations

from typing import Any

from celery import states
from celery.backends.redis import RedisBackend

# KEYS: the task's result key.  ARGV: the encoded state, seconds to keep it (0: for ever).
# Returns 1 when written (and announced, as Celery's backend does), 0 when refused.
SET_UNLESS_FINAL = """
local stored = redis.call('GET', KEYS[1])
if stored then
  local ok, doc = pcall(cjson.decode, stored)
  local final = {SUCCESS = true, FAILURE = true, REVOKED = true}
  if ok and type(doc) == 'table' and final[doc.status] then return 0 end
end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
"""


def backend_url(url: str) -> str:
    """The `result_backend` setting that selects this backend for a Redis URL."""
    if url.partition("://")[0].lower() in {"redis", "rediss"}:
        return f"{__name__}:GuardedRedisBackend+{url}"
    return url


class GuardedRedisBackend(RedisBackend):
    """RedisBackend whose non-final states never replace a final one (see the module)."""

    def _set_with_state(self, key: Any, value: Any, state: str) -> Any:
        if state in states.READY_STATES:
            return super()._set_with_state(key, value, state)  # type: ignore[misc]
        return self.ensure(self._set_unless_final, (key, value))

    def _set_unless_final(self, key: Any, value: Any) -> int:
        seconds = int(getattr(self, "expires", None) or 0)
        return int(self.client.eval(SET_UNLESS_FINAL, 1, key, value, seconds))
