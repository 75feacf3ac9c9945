"""Submitting a job: POST /api/reports with the seed's exact body (API.md, "Submitting a job")."""

from __future__ import annotations

import requests

from tests.contract.client import (
    assert_status_document,
    assert_uuid4,
    job_id,
    retry_after,
    submit,
)
from tests.contract.conftest import Service


def test_seed_request_is_accepted_with_location_retry_after_and_status_document(
    service: Service,
) -> None:
    # Given the seed's exact request
    resp = requests.post(
        f"{service.base}/api/reports",
        data=b'{\n"reportType": "yearly-sales",\n"parameters": {\n"year": "2023"\n}\n}',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    # Then 202, Location /api/reports/{uuid4}/status, an integer Retry-After, a status document
    assert resp.status_code == 202, resp.text
    jid = job_id(resp)
    assert_uuid4(jid)
    assert resp.headers["Location"] == f"/api/reports/{jid}/status"
    assert retry_after(resp) >= 1
    assert resp.headers["Content-Type"].startswith("application/json")
    doc = resp.json()
    assert_status_document(doc, jid)
    assert doc["reportType"] == "yearly-sales"
    assert doc["parameters"] == {"year": "2023"}


def test_each_submission_is_a_new_unguessable_job(idle_service: Service) -> None:
    ids = [job_id(submit(idle_service.base)) for _ in range(5)]
    assert len(set(ids)) == 5
    for jid in ids:
        assert_uuid4(jid)


def test_queued_job_says_queued_and_never_retry_after_zero(idle_service: Service) -> None:
    # Given no worker runs, so the job stays queued
    resp = submit(idle_service.base)
    assert resp.status_code == 202
    doc = resp.json()
    assert (doc["status"], doc["state"]) == ("In Progress", "queued")
    assert retry_after(resp) > 0
    # And the status resource says the same as the 202's body
    again = requests.get(idle_service.base + resp.headers["Location"], timeout=10)
    assert again.status_code == 200
    assert again.json()["id"] == doc["id"]
    assert (again.json()["status"], again.json()["state"]) == ("In Progress", "queued")
    assert retry_after(again) > 0


def test_year_may_be_a_number(service: Service) -> None:
    resp = submit(service.base, {"reportType": "yearly-sales", "parameters": {"year": 2023}})
    assert resp.status_code == 202, resp.text
    assert_status_document(resp.json(), job_id(resp))
