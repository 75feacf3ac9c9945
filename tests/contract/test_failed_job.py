"""A job that fails: `Failed`/`failed` with an `error` problem object and no traceback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import sqlalchemy

from tests.contract.client import (
    assert_no_trace,
    assert_problem,
    assert_status_document,
    poll,
    retry_after,
    submit,
)
from tests.contract.conftest import Service, _service


@pytest.fixture(scope="module")
def broken_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """web + worker whose database has no `sales` table, so every report fails."""
    tmp = tmp_path_factory.mktemp("broken")
    url = f"sqlite:///{tmp / 'empty.db'}"
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE unrelated (id integer PRIMARY KEY)")
    engine.dispose()
    yield from _service(tmp, url, worker=True)


def test_failed_job_reports_an_actionable_error_without_traceback(
    broken_service: Service,
) -> None:
    resp = submit(broken_service.base)
    assert resp.status_code == 202
    assert retry_after(resp) >= 1
    doc = poll(broken_service.base, resp.headers["Location"], timeout=60)
    assert_status_document(doc)
    assert (doc["status"], doc["state"]) == ("Failed", "failed")
    error = doc["error"]
    assert {"type", "title", "detail"} <= set(error)
    status = requests.get(broken_service.base + resp.headers["Location"], timeout=10)
    assert_no_trace(status)
    assert "Retry-After" not in status.headers
    # And its report is a 409 without Retry-After (it will never be ready)
    download = requests.get(
        f"{broken_service.base}{doc['links']['self']}"[:-7] + "/download", timeout=10
    )
    assert_problem(download, 409)
    assert download.headers["Location"] == doc["links"]["self"]
    assert "Retry-After" not in download.headers
