"""Clients and access: API keys, ownership, admin-only monitoring (API.md, "Clients and access")."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.contract.client import SEED_BODY, assert_problem, job_id, submit
from tests.contract.conftest import ADMIN_KEY, KEYS, Service, bearer

ALICE = bearer(KEYS["alice"])
BOB = bearer(KEYS["bob"])


def _alice_job(svc: Service) -> str:
    resp = submit(svc.base, headers=ALICE)
    assert resp.status_code == 202, resp.text
    return job_id(resp)


def _requests(jid: str) -> list[tuple[str, str]]:
    return [
        ("POST", "/api/reports"),
        ("GET", "/api/reports"),
        ("GET", f"/api/reports/{jid}/status"),
        ("GET", f"/api/reports/{jid}/download"),
        ("DELETE", f"/api/reports/{jid}"),
        ("GET", "/api/report-types"),
    ]


@pytest.mark.parametrize("auth", [{}, bearer("not-a-key"), {"Authorization": KEYS["alice"]}])
def test_every_api_request_without_a_valid_key_is_401(
    keyed_service: Service, auth: dict[str, str]
) -> None:
    jid = _alice_job(keyed_service)
    for method, path in _requests(jid):
        kwargs = {"json": SEED_BODY} if method == "POST" else {}
        resp = requests.request(
            method, keyed_service.base + path, headers=auth, timeout=10, **kwargs
        )
        assert_problem(resp, 401)
    # and nothing happened to the job
    got = requests.get(f"{keyed_service.base}/api/reports/{jid}/status", headers=ALICE, timeout=10)
    assert got.status_code == 200
    assert got.json()["status"] != "Cancelled"


def test_api_description_needs_a_key_too(keyed_service: Service) -> None:
    # API.md: "every `/api` request needs `Authorization: Bearer <key>` (`401` otherwise)"
    resp = requests.get(f"{keyed_service.base}/api/openapi.json", timeout=10)
    assert_problem(resp, 401)


def test_a_job_belongs_to_the_key_that_created_it(keyed_service: Service) -> None:
    jid = _alice_job(keyed_service)
    base = keyed_service.base
    status = requests.get(f"{base}/api/reports/{jid}/status", headers=ALICE, timeout=10)
    assert status.status_code == 200
    for method, path in [
        ("GET", f"/api/reports/{jid}/status"),
        ("GET", f"/api/reports/{jid}/download"),
        ("DELETE", f"/api/reports/{jid}"),
    ]:
        resp = requests.request(method, base + path, headers=BOB, timeout=10)
        body = assert_problem(resp, 404)
        assert jid not in str(body.get("owner", ""))
    # Bob's DELETE did not cancel Alice's job
    after = requests.get(f"{base}/api/reports/{jid}/status", headers=ALICE, timeout=10)
    assert after.json()["status"] != "Cancelled"


def test_listing_shows_only_the_callers_jobs(keyed_service: Service) -> None:
    mine = _alice_job(keyed_service)
    bobs = job_id(submit(keyed_service.base, headers=BOB))
    alice_list = requests.get(f"{keyed_service.base}/api/reports", headers=ALICE, timeout=10)
    bob_list = requests.get(f"{keyed_service.base}/api/reports", headers=BOB, timeout=10)
    alice_ids = {d["id"] for d in alice_list.json()["items"]}
    bob_ids = {d["id"] for d in bob_list.json()["items"]}
    assert mine in alice_ids and mine not in bob_ids
    assert bobs in bob_ids and bobs not in alice_ids


def test_idempotency_keys_are_per_client(keyed_service: Service) -> None:
    key = {"Idempotency-Key": f"contract-{uuid.uuid4()}"}
    a = submit(keyed_service.base, headers={**ALICE, **key})
    b = submit(keyed_service.base, headers={**BOB, **key})
    assert a.status_code == b.status_code == 202
    assert job_id(a) != job_id(b)


def test_open_service_says_so_loudly_at_start_up(service: Service) -> None:
    # With no keys configured the service runs open, "and says so loudly at start-up".
    log = service.log("web").lower()
    assert "api_keys" in log or "api key" in log, log[-2000:]
    assert "open" in log or "unauthenticated" in log, log[-2000:]


def test_admin_key_is_an_api_key_for_nothing_else_it_is_not_given(keyed_service: Service) -> None:
    # The admin key opens monitoring; it is not some client's key: it does not see Alice's job.
    jid = _alice_job(keyed_service)
    resp = requests.get(
        f"{keyed_service.base}/api/reports/{jid}/status", headers=bearer(ADMIN_KEY), timeout=10
    )
    assert resp.status_code in {401, 403, 404}, resp.text
    assert_problem(resp, resp.status_code)
