"""RFC 7240 `Prefer` headers: the `wait=N` preference (the only one this API honours)."""

from __future__ import annotations

from collections.abc import Iterable


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
            return min(int(raw), max_wait)
    return None


def applied(wait: int) -> str:
    """The `Preference-Applied` value for an honoured wait."""
    return f"wait={wait}"
