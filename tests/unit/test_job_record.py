"""JobRecord's flat hash form: every field round-trips, the optional ones can be absent."""

from __future__ import annotations

import pytest

from jobs.store import JobRecord, Progress
from tests.unit.support import record


@pytest.mark.parametrize("progress", [None, Progress(), Progress(7, None, 0), Progress(4, 9, 44)])
def test_record_round_trips_through_the_hash(progress: Progress | None) -> None:
    full = JobRecord(
        id="j",
        kind="report",
        type="top-products",
        parameters={"from": "2023-01-01", "to": "2023-01-31", "limit": 5},
        owner="bob",
        created_at=1.5,
        started_at=2.25,
        finished_at=3.125,
        error={"type": "t", "title": "x", "detail": "y"},
        cancel_requested=True,
        worker="w@h",
        attempts=3,
        deadline=4.5,
        progress=progress,
    )
    assert JobRecord.from_hash(full.to_hash()) == full
    assert all(isinstance(v, str) for v in full.to_hash().values())
    assert full.label == "report:top-products"


def test_a_minimal_record_round_trips_without_optional_fields() -> None:
    rec = record()
    flat = rec.to_hash()
    assert set(flat) == {"id", "kind", "type", "parameters", "owner", "createdAt", "attempts"}
    assert JobRecord.from_hash(flat) == rec
