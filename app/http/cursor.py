"""Opaque list cursors: a position (creation time, job id) in a client's job index."""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid


class BadCursor(ValueError):
    """Raised when a cursor was not produced by this API."""


def encode(score: float, job_id: str) -> str:
    """Position after which the next page starts, as a URL-safe opaque string."""
    raw = json.dumps([score, job_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[float, str]:
    """The position a cursor stands for; BadCursor for anything else."""
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
