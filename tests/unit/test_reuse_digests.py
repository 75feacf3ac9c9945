"""Reuse digests: which submissions count as the same request, and which kinds are reused."""

from __future__ import annotations

import pytest

from app.services.reuse import digest
from jobs.kinds import JobKind, Submission
from jobs.registry import Kinds


def key(kind: JobKind, submission: Submission, version: str) -> str:
    parameters = kind.normalised(submission)
    assert parameters is not None
    return digest(kind, parameters, submission.type, version)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"year": "2023"}, {"year": 2023}),
        ({"year": "2023", "quarter": None}, {"year": 2023}),
    ],
)
def test_parameters_are_compared_as_the_type_reads_them(
    kinds: Kinds, a: dict[str, object], b: dict[str, object]
) -> None:
    # Given two requests for the same report written differently
    kind = kinds["report"]
    one = Submission("region-breakdown", a, "x")
    two = Submission("region-breakdown", b, "y")
    # Then they have one digest, which a different year or data version does not share
    assert key(kind, one, "v1") == key(kind, two, "v1")
    assert key(kind, one, "v1") != key(kind, one, "v2")
    other = Submission("region-breakdown", {"year": 2024}, "z")
    assert key(kind, one, "v1") != key(kind, other, "v1")


def test_top_products_defaults_are_filled_before_comparing(kinds: Kinds) -> None:
    kind = kinds["report"]
    short = Submission("top-products", {"from": "2023-01-01", "to": "2023-03-31"}, "x")
    full = Submission(
        "top-products", {"from": "2023-01-01", "to": "2023-03-31", "limit": "10"}, "y"
    )
    assert key(kind, short, "v") == key(kind, full, "v")


def test_the_diagnostic_noop_is_shared_only_when_it_asks(kinds: Kinds) -> None:
    kind = kinds["report"]
    assert kind.normalised(Submission("noop", {"steps": 2}, "x")) is None
    shared = kind.normalised(Submission("noop", {"steps": "2", "reuse": True}, "y"))
    assert shared is not None and shared["steps"] == 2


def test_imports_are_never_reused_and_reports_are(kinds: Kinds) -> None:
    assert kinds["report"].deterministic and not kinds["report"].changes_data
    assert not kinds["import"].deterministic and kinds["import"].changes_data
