"""How long to wait between requests: Retry-After, clamping, backoff, long polls (no I/O).

Every number the SDK waits for comes from here, for the sync and the async client alike.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

# A Retry-After beyond this is taken as this: a typo on the server must not park a
# client for a week. The caller's max_poll_interval, when given, caps polls lower still.
MAX_RETRY_AFTER = 3600.0
# The longest `Prefer: wait` the contract lets a client ask for (API.md: N <= 60).
MAX_LONG_POLL = 60
# The preference a client sends when it wants only the end, not every progress step.
# Servers that do not know it ignore it (RFC 7240 section 2), so sending it is harmless.
ONLY_STATE_CHANGES = "changes=state"

_DELTA_SECONDS = re.compile(r"\d+(\.\d+)?")


def parse_retry_after(
    value: str | None, now: float, server_date: str | None = None
) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date), None if unusable.

    `now` is the local wall clock (epoch seconds). An HTTP-date is measured from the
    answer's own `Date` header when it has a valid one, so clock skew between client
    and server does not matter; else from `now`. A date in the past means 0.
    """
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text) and text.isascii():
        return min(float(text), MAX_RETRY_AFTER)
    when = _http_date(text)
    if when is None:
        return None
    reference = _http_date(server_date) if server_date else None
    start = reference if reference is not None else now
    return min(max(0.0, when - start), MAX_RETRY_AFTER)


def _http_date(text: str | None) -> float | None:
    """Epoch seconds of an HTTP-date (IMF-fixdate or the obsolete forms), None if not one."""
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # HTTP dates are always GMT
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def prefer_header(wait: int, only_state_changes: bool) -> str:
    """The `Prefer` value of a long poll (RFC 7240), naming `changes=state` when asked."""
    value = f"wait={wait}"
    return f"{value}, {ONLY_STATE_CHANGES}" if only_state_changes else value


def applied_wait(value: str | None) -> int | None:
    """The `wait=N` a server says it honoured (`Preference-Applied`), None if it did not."""
    for preference in (value or "").split(","):
        name, sep, raw = preference.split(";", 1)[0].partition("=")
        raw = raw.strip().strip('"')
        if name.strip().lower() == "wait" and sep and raw.isdigit():
            return int(raw)
    return None


@dataclass(frozen=True)
class PollPolicy:
    """The caller's bounds on polling, and the backoff used when the server gives no hint.

    `min_interval`/`max_interval` (seconds, optional) clamp every pause between two
    polls, including the server's Retry-After; without them the server's hint is
    followed as given. With no hint at all, pauses grow from `initial_backoff` by
    `multiplier` up to `max_backoff` (or `max_interval`), each drawn with jitter from
    [half, all] of its step. `long_poll` is the `Prefer: wait` asked for (0: never).
    """

    min_interval: float | None = None
    max_interval: float | None = None
    initial_backoff: float = 1.0
    max_backoff: float = 30.0
    multiplier: float = 2.0
    long_poll: int = MAX_LONG_POLL

    def __post_init__(self) -> None:
        if self.min_interval is not None and self.min_interval < 0:
            raise ValueError("min_interval must not be negative")
        if self.max_interval is not None and self.max_interval <= 0:
            raise ValueError("max_interval must be positive")
        if (
            self.min_interval is not None
            and self.max_interval is not None
            and self.min_interval > self.max_interval
        ):
            raise ValueError("min_interval must not exceed max_interval")
        if not 0 <= self.long_poll <= MAX_LONG_POLL:
            raise ValueError(f"long_poll must be 0 to {MAX_LONG_POLL} seconds")

    def clamp(self, seconds: float) -> float:
        """A pause between polls within the caller's min/max (when given)."""
        if self.max_interval is not None:
            seconds = min(seconds, self.max_interval)
        if self.min_interval is not None:
            seconds = max(seconds, self.min_interval)
        return max(0.0, seconds)

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The pause after `attempt` (0-based) hintless tries: capped, exponential, jittered."""
        cap = self.max_interval if self.max_interval is not None else self.max_backoff
        base = max(self.initial_backoff, self.min_interval or 0.0)
        step = min(cap, base * self.multiplier ** min(attempt, 64))
        return self.clamp(rng.uniform(step / 2, step))

    def poll_delay(self, retry_after: float | None, attempt: int, rng: random.Random) -> float:
        """The pause before the next poll of an unfinished job."""
        if retry_after is not None:
            return self.clamp(retry_after)
        return self.backoff(attempt, rng)

    def retry_delay(self, retry_after: float | None, attempt: int, rng: random.Random) -> float:
        """The pause before retrying a 429/503 or a connection error.

        The server's Retry-After is a floor here (asking sooner only earns another
        429), so the caller's max_interval does not shorten it.
        """
        if retry_after is not None:
            return max(retry_after, self.min_interval or 0.0)
        return self.backoff(attempt, rng)

    def gap_after(self, elapsed: float) -> float:
        """What is left of the caller's min_interval after a request that took `elapsed`."""
        return max(0.0, (self.min_interval or 0.0) - elapsed)

    def long_poll_seconds(self, remaining: float | None) -> int:
        """The `Prefer: wait` for the next poll: never past the caller's deadline (0: none)."""
        if remaining is None:
            return self.long_poll
        return max(0, min(self.long_poll, math.floor(remaining)))
