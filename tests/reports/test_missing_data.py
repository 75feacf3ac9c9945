"""A database without the `sales` table is a clear, permanent error on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from jobs.failures import DataUnavailable, TransientError
from kinds.reports.compute import COMPUTATIONS
from sales.db import make_engine
from worker.database_errors import classify_database_error


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A reachable database that has no `sales` table."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        # A search_path naming a schema that does not exist: no `sales` is visible.
        seeded = request.getfixturevalue("postgres_url")
        missing = f"ar_missing_{uuid.uuid4().hex[:8]}"
        url = seeded.rsplit("options=", 1)[0] + f"options=-csearch_path%3D{missing}"
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_a_missing_sales_table_is_classified_as_data_unavailable(empty_engine: Engine) -> None:
    # Given a database without the table
    # When a report runs against it
    with pytest.raises(DBAPIError) as caught:
        COMPUTATIONS["yearly-sales"](empty_engine, {"year": 2023}, lambda _c, _t: None)
    # Then the worker reports missing data (permanent, no retry), in words an operator can act on
    error = classify_database_error(caught.value)
    assert isinstance(error, DataUnavailable)
    problem = error.problem()
    assert problem["type"].endswith("/data-unavailable")
    assert "`sales` table" in problem["detail"]
    assert "no such table" not in problem["detail"] and "relation" not in problem["detail"]


def test_an_unreachable_database_is_worth_a_retry() -> None:
    # Given a PostgreSQL URL where nothing listens (a closed local port: refused at once)
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        with pytest.raises(DBAPIError) as caught:
            COMPUTATIONS["yearly-sales"](engine, {"year": 2023}, lambda _c, _t: None)
    finally:
        engine.dispose()
    # Then it is a transient error (the task retries it with backoff), not missing data
    error = classify_database_error(caught.value)
    assert isinstance(error, TransientError)
    assert "could not be reached" in str(error)
