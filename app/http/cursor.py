"""List cursors: a position (creation time, job id) in a client's job index.

A cursor reads `<seconds>_<job id>` (`1764626400.123456_3f0c...`; the seconds as
Python writes a float, so a tiny one as `5e-07`), a form the OpenAPI
document states as a pattern, so a client or schemathesis knows which values the
server takes. Clients should still treat it as opaque and pass back `next` as given.
The base64 form of earlier versions is still read, so a page in flight survives a deploy.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import uuid

# repr() writes at most 17 significant digits; below 1 up to three zeros lead them (below
# 1e-4 it switches to an exponent): at most 20 digits after the point.
PATTERN = (
    r"^[0-9]{1,15}(\.[0-9]{1,20})?(e-[0-9]{1,3})?_"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
_CURSOR = re.compile(PATTERN)


class BadCursor(ValueError):
    """Raised when a cursor was not produced by this API."""


def encode(score: float, job_id: str) -> str:
    """Position after which the next page starts."""
    return f"{score!r}_{job_id}"


def decode(cursor: str) -> tuple[float, str]:
    """The position a cursor stands for; BadCursor for anything else."""
    if _CURSOR.fullmatch(cursor):
        score, _, job_id = cursor.partition("_")
        return float(score), job_id
    return _decode_legacy(cursor)


def _decode_legacy(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        score, job_id = json.loads(raw)
        score = float(score)
        uuid.UUID(str(job_id))
    except (binascii.Error, ValueError, TypeError, OverflowError) as exc:
        raise BadCursor(str(exc)) from None
    if not math.isfinite(score):
        raise BadCursor("position out of range")
    return score, str(job_id)
