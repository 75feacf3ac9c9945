"""RFC 7240 `Prefer` headers: `wait=N`, and `changes=state` (which long polls answer on)."""

from __future__ import annotations

from collections.abc import Iterable

MAX_DIGITS = 9
# The longest Prefer header the API reads (the OpenAPI document's maxLength).
MAX_PREFER_LENGTH = 1024


def parse_wait(values: Iterable[str], max_wait: int) -> int | None:
    """Seconds asked for by `Prefer: wait=N` (capped at `max_wait`), or None.

    Preferences are comma-separated, each with optional `;` parameters; names are
    case-insensitive, values may be quoted. An unparsable preference is ignored, as
    RFC 7240 asks; the first `wait` wins.
    """
    for value in values:
        for preference in value.split(","):
            token = preference.split(";", 1)[0]
            name, sep, raw = token.partition("=")
            if name.strip().lower() != "wait" or not sep:
                continue
            raw = raw.strip().strip('"').strip()
            if not raw.isdigit() or not raw.isascii():
                continue
            # Any number of digits is a wait, capped: int() of thousands of digits raises.
            digits = raw.lstrip("0") or "0"
            if len(digits) > MAX_DIGITS:
                return max_wait
            return min(int(digits), max_wait)
    return None


# The `changes` values this API knows: `state` asks a long poll to answer only when the
# job's state changes (or it ends), not on every progress step.
KNOWN_CHANGES = frozenset({"state"})


def parse_changes(values: Iterable[str]) -> str | None:
    """The `changes=` preference (`state`), or None when absent or of an unknown value.

    It may come as a preference of its own (`wait=10, changes=state`) or as a parameter
    of `wait` (`wait=10; changes=state`). Unknown values are ignored (RFC 7240).
    """
    for value in values:
        for preference in value.split(","):
            for token in preference.split(";"):
                name, sep, raw = token.partition("=")
                if name.strip().lower() != "changes" or not sep:
                    continue
                raw = raw.strip().strip('"').strip().lower()
                if raw in KNOWN_CHANGES:
                    return raw
    return None


def applied(wait: int, changes: str | None = None) -> str:
    """The `Preference-Applied` value for an honoured wait (and `changes=`, if honoured)."""
    return f"wait={wait}" if changes is None else f"wait={wait}, changes={changes}"
