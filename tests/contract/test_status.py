"""Polling: the status document, ETag/304, Retry-After and unknown ids (API.md, "Polling")."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.contract.client import (
    assert_problem,
    assert_status_document,
    job_id,
    poll,
    retry_after,
    run_seed_job,
    submit,
)
from tests.contract.conftest import Service


def test_every_document_seen_while_polling_is_valid_and_ends_complete(service: Service) -> None:
    # Given a job of the seed's request
    resp = submit(service.base)
    jid = job_id(resp)
    docs = [resp.json()]
    # When it is polled to the end
    while docs[-1]["status"] == "In Progress":
        got = requests.get(service.base + resp.headers["Location"], timeout=10)
        assert got.status_code == 200
        assert got.headers["Content-Type"].startswith("application/json")
        assert "ETag" in got.headers
        if got.json()["status"] == "In Progress":
            assert retry_after(got) >= 1
        else:
            assert "Retry-After" not in got.headers
        docs.append(got.json())
        assert len(docs) < 2000, docs[-1]
    # Then every document is valid, and the last one is Complete with a reportURL
    for doc in docs:
        assert_status_document(doc, jid)
        assert doc["reportType"] == "yearly-sales"
        assert doc["parameters"] == {"year": "2023"}
    last = docs[-1]
    assert (last["status"], last["state"]) == ("Complete", "succeeded")
    assert last["reportURL"] == f"/api/reports/{jid}/download"
    assert last["progress"]["percent"] == 100
    assert last["startedAt"] is not None
    assert last["createdAt"] <= last["startedAt"] <= last["finishedAt"]
    assert "estimatedTimeRemaining" not in last


def test_states_only_move_forward(service: Service) -> None:
    order = {"queued": 0, "retrying": 1, "running": 1, "succeeded": 2}
    resp = submit(service.base)
    seen = [resp.json()["state"]]
    while seen[-1] not in {"succeeded", "failed", "cancelled"}:
        got = requests.get(service.base + resp.headers["Location"], timeout=10)
        seen.append(got.json()["state"])
        assert len(seen) < 2000
    ranks = [order[s] for s in seen]
    assert ranks == sorted(ranks), seen


def test_etag_and_if_none_match_give_304(service: Service) -> None:
    jid, _ = run_seed_job(service.base)
    url = f"{service.base}/api/reports/{jid}/status"
    first = requests.get(url, timeout=10)
    tag = first.headers["ETag"]
    # the same document has the same tag
    assert requests.get(url, timeout=10).headers["ETag"] == tag
    again = requests.get(url, headers={"If-None-Match": tag}, timeout=10)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers.get("ETag") == tag
    # a tag among others still matches (RFC 9110 list form); another tag does not
    listed = requests.get(url, headers={"If-None-Match": f'"nope", {tag}'}, timeout=10)
    assert listed.status_code == 304
    other = requests.get(url, headers={"If-None-Match": '"something-else"'}, timeout=10)
    assert other.status_code == 200
    assert other.json()["id"] == jid


def test_etag_changes_when_the_document_changes(service: Service) -> None:
    # A fresh computation (API.md, "Results already computed": no-cache forces one), so
    # the document changes from queued to Complete.
    resp = submit(service.base, headers={"Cache-Control": "no-cache"})
    queued_tag = resp.headers.get("ETag")
    doc = poll(service.base, resp.headers["Location"])
    done = requests.get(service.base + resp.headers["Location"], timeout=10)
    assert done.json()["status"] == doc["status"] == "Complete"
    assert done.headers["ETag"] != queued_tag
    stale = requests.get(
        service.base + resp.headers["Location"],
        headers={"If-None-Match": queued_tag or '"x"'},
        timeout=10,
    )
    assert stale.status_code == 200
    assert stale.json()["status"] == "Complete"


def test_304_of_a_job_in_progress_keeps_retry_after(idle_service: Service) -> None:
    resp = submit(idle_service.base)
    url = idle_service.base + resp.headers["Location"]
    first = requests.get(url, timeout=10)
    again = requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
    assert again.status_code == 304
    assert retry_after(again) >= 1


@pytest.mark.parametrize(
    "job",
    [
        str(uuid.uuid4()),
        str(uuid.UUID(int=0)),
        "not-a-uuid",
        "12345",
        str(uuid.uuid4()).upper(),
        str(uuid.uuid4()) + "x",
    ],
    ids=["unknown-uuid4", "nil-uuid", "word", "number", "uppercase-unknown", "trailing-garbage"],
)
def test_unknown_or_malformed_id_is_404_never_queued(service: Service, job: str) -> None:
    resp = requests.get(f"{service.base}/api/reports/{job}/status", timeout=10)
    problem = assert_problem(resp, 404)
    assert "queued" not in resp.text.lower() or problem["status"] == 404
    assert "state" not in problem


def test_an_id_differing_from_a_real_one_in_one_digit_is_404(service: Service) -> None:
    resp = submit(service.base)
    jid = job_id(resp)
    twin = jid[:-1] + ("0" if jid[-1] != "0" else "1")
    assert_problem(requests.get(f"{service.base}/api/reports/{twin}/status", timeout=10), 404)
