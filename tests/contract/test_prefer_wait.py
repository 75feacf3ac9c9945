"""Prefer: wait=N on POST and on GET status (API.md, RFC 7240)."""

from __future__ import annotations

import time

import requests

from tests.contract.client import (
    TERMINAL,
    assert_status_document,
    job_id,
    retry_after,
    submit,
)
from tests.contract.conftest import Service


def _varies_on_prefer(resp: requests.Response) -> bool:
    return "prefer" in {v.strip().lower() for v in resp.headers.get("Vary", "").split(",")}


def test_post_with_wait_answers_200_with_the_final_document(service: Service) -> None:
    resp = submit(service.base, headers={"Prefer": "wait=30"})
    assert resp.status_code == 200, resp.text
    assert resp.headers.get("Preference-Applied", "").replace(" ", "") == "wait=30"
    assert _varies_on_prefer(resp)
    doc = resp.json()
    assert_status_document(doc)
    assert doc["status"] in TERMINAL
    assert doc["status"] == "Complete"
    assert doc["reportURL"] == f"/api/reports/{doc['id']}/download"


def test_post_with_wait_that_runs_out_is_the_ordinary_202(idle_service: Service) -> None:
    started = time.monotonic()
    resp = submit(idle_service.base, headers={"Prefer": "wait=1"})
    assert time.monotonic() - started >= 0.5  # it did wait
    assert resp.status_code == 202, resp.text
    assert _varies_on_prefer(resp)
    assert resp.headers["Location"] == f"/api/reports/{job_id(resp)}/status"
    assert retry_after(resp) >= 1
    assert resp.json()["status"] == "In Progress"


def test_get_with_wait_answers_after_n_seconds_when_nothing_changes(idle_service: Service) -> None:
    resp = submit(idle_service.base)
    url = idle_service.base + resp.headers["Location"]
    started = time.monotonic()
    got = requests.get(url, headers={"Prefer": "wait=2"}, timeout=20)
    elapsed = time.monotonic() - started
    assert got.status_code == 200
    assert _varies_on_prefer(got)
    assert got.json()["state"] == "queued"
    assert elapsed >= 1.0, f"a long poll of an unchanged job answered after {elapsed:.2f}s"


def test_long_poll_follows_a_job_to_the_end_in_few_requests(service: Service) -> None:
    resp = submit(service.base)
    url = service.base + resp.headers["Location"]
    doc = resp.json()
    requests_made = 0
    while doc["status"] not in TERMINAL:
        started = time.monotonic()
        got = requests.get(url, headers={"Prefer": "wait=20"}, timeout=40)
        requests_made += 1
        assert got.status_code == 200
        assert _varies_on_prefer(got)
        new = got.json()
        assert_status_document(new)
        if time.monotonic() - started < 19:
            # an early answer means the document changed (state or progress)
            assert (new["state"], new["progress"]) != (doc["state"], doc["progress"]), new
        doc = new
        assert requests_made < 30, doc
    assert doc["status"] == "Complete"
