"""Cancelling and forgetting: DELETE /api/reports/{id} (API.md, "Cancelling and forgetting")."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.contract.client import (
    assert_problem,
    assert_status_document,
    job_id,
    run_seed_job,
    submit,
)
from tests.contract.conftest import Service, _service


def _delete(base: str, jid: str) -> requests.Response:
    return requests.delete(f"{base}/api/reports/{jid}", timeout=10)


def _status(base: str, jid: str) -> requests.Response:
    return requests.get(f"{base}/api/reports/{jid}/status", timeout=10)


def _until_cancelled(base: str, jid: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    doc: dict[str, Any] = {}
    while time.monotonic() < deadline:
        resp = _status(base, jid)
        assert resp.status_code == 200, resp.text
        doc = resp.json()
        if doc["status"] != "In Progress":
            return doc
        time.sleep(0.1)
    raise AssertionError(f"{jid} still in progress after cancel: {doc}")


@pytest.fixture(scope="module")
def late_worker_service(
    tmp_path_factory: pytest.TempPathFactory, contract_sqlite_url: str
) -> Iterator[Service]:
    """A web process whose worker the test starts itself, later."""
    yield from _service(tmp_path_factory.mktemp("late-worker"), contract_sqlite_url, worker=False)


def test_cancel_a_queued_job(idle_service: Service) -> None:
    # Given a job that stays queued (no worker)
    jid = job_id(submit(idle_service.base))
    # When it is deleted
    resp = _delete(idle_service.base, jid)
    # Then 202 with its status document, and the job ends Cancelled
    assert resp.status_code == 202, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    assert_status_document(resp.json(), jid)
    doc = _until_cancelled(idle_service.base, jid)
    assert_status_document(doc, jid)
    assert (doc["status"], doc["state"]) == ("Cancelled", "cancelled")
    assert doc["startedAt"] is None
    # And its report is a 409 that no longer says to retry
    download = requests.get(f"{idle_service.base}/api/reports/{jid}/download", timeout=10)
    assert_problem(download, 409)
    assert download.headers["Location"] == f"/api/reports/{jid}/status"
    assert "Retry-After" not in download.headers
    final = _status(idle_service.base, jid)
    assert "Retry-After" not in final.headers


def test_cancel_is_idempotent(idle_service: Service) -> None:
    jid = job_id(submit(idle_service.base))
    first = _delete(idle_service.base, jid)
    assert first.status_code == 202, first.text
    second = _delete(idle_service.base, jid)
    # a repeat cancels nothing new: the same 202, or (the job being over) a forget
    assert second.status_code in {202, 204}, second.text
    after = _status(idle_service.base, jid)
    if second.status_code == 202:
        assert after.json()["status"] in {"In Progress", "Cancelled"}
        assert_status_document(second.json(), jid)
    else:
        assert after.status_code in {404, 410}


def test_cancelled_queued_job_never_starts(late_worker_service: Service) -> None:
    # Given two queued jobs, one of them cancelled, while no worker runs
    base = late_worker_service.base
    cancelled = job_id(submit(base))
    kept = job_id(submit(base))
    assert _delete(base, cancelled).status_code == 202
    # When a worker comes up
    late_worker_service.start("worker")
    late_worker_service.wait_ready()
    # Then the other job completes, and the cancelled one never started
    deadline = time.monotonic() + 30
    while _status(base, kept).json()["status"] == "In Progress":
        assert time.monotonic() < deadline, "the kept job never finished"
        time.sleep(0.1)
    assert _status(base, kept).json()["status"] == "Complete"
    doc = _status(base, cancelled).json()
    assert (doc["status"], doc["state"]) == ("Cancelled", "cancelled")
    assert doc["startedAt"] is None
    assert "reportURL" not in doc


def test_delete_a_finished_job_forgets_it(service: Service) -> None:
    jid, doc = run_seed_job(service.base)
    assert doc["status"] == "Complete"
    resp = _delete(service.base, jid)
    assert resp.status_code == 204, resp.text
    assert resp.content == b""
    # record and result are gone
    assert _status(service.base, jid).status_code in {404, 410}
    assert_problem(_status(service.base, jid), _status(service.base, jid).status_code)
    download = requests.get(f"{service.base}/api/reports/{jid}/download", timeout=10)
    assert download.status_code in {404, 410}
    assert_problem(download, download.status_code)


@pytest.mark.parametrize("jid", [str(uuid.uuid4()), "not-a-uuid"])
def test_delete_unknown_job_is_404(service: Service, jid: str) -> None:
    assert_problem(_delete(service.base, jid), 404)


def test_status_document_cancel_link_is_the_delete_target(idle_service: Service) -> None:
    resp = submit(idle_service.base)
    link = resp.json()["links"]["cancel"]
    assert link == f"/api/reports/{job_id(resp)}"
    assert requests.delete(idle_service.base + link, timeout=10).status_code == 202


def test_openapi_lists_delete(service: Service) -> None:
    paths = requests.get(f"{service.base}/api/openapi.json", timeout=10).json()["paths"]
    assert any(
        p.startswith("/api/reports/{") and p.count("/") == 3 and "delete" in item
        for p, item in paths.items()
    ), sorted(paths)
