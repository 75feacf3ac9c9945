"""API keys, ownership, listing and idempotency on a stack with API_KEYS configured."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests

from devstack.stack import Stack
from jobs.store.keys import Keys
from tests.integration.client import poll
from tests.integration.stacks import extra_stack, redis_db

pytestmark = pytest.mark.integration

KEYS = Keys()

ALICE = {"Authorization": "Bearer alice-key"}
BOB = {"Authorization": "Bearer bob-key"}
DB = 1


@pytest.fixture(scope="module")
def keyed(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[Stack]:
    """web + one worker with two client keys and an admin key."""
    env = {
        "ENABLE_DIAGNOSTIC_REPORTS": "1",
        "API_KEYS": "alice:alice-key,bob:bob-key",
        "ADMIN_API_KEYS": "ops:ops-key",
    }
    with extra_stack(tmp_path_factory.mktemp("keyed"), redis_url, DB, sqlite_url, env) as s:
        yield s


@pytest.fixture(scope="module")
def keyed_redis(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_db(redis_url, DB), decode_responses=True)


def post(stack: Stack, body: dict[str, Any], headers: dict[str, str]) -> requests.Response:
    return requests.post(f"{stack.base_url}/api/reports", json=body, headers=headers, timeout=30)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/reports"),
        ("POST", "/api/reports"),
        ("GET", "/api/report-types"),
        ("GET", f"/api/reports/{uuid.uuid4()}/status"),
        ("GET", f"/api/reports/{uuid.uuid4()}/download"),
        ("DELETE", f"/api/reports/{uuid.uuid4()}"),
    ],
)
@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic YWxpY2U6eA==", "Bearer ops-key"])
def test_every_api_request_needs_a_client_key(
    keyed: Stack, method: str, path: str, auth: str | None
) -> None:
    headers = {"Authorization": auth} if auth else {}
    resp = requests.request(method, keyed.base_url + path, headers=headers, timeout=10)
    assert resp.status_code == 401, resp.text
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert resp.json()["status"] == 401


def test_the_documentation_needs_a_key_too(keyed: Stack) -> None:
    # API.md: with keys configured, every /api request needs one
    assert requests.get(keyed.base_url + "/api/openapi.json", timeout=10).status_code == 401
    assert requests.get(keyed.base_url + "/api/docs", timeout=10).status_code == 401
    spec = requests.get(keyed.base_url + "/api/openapi.json", headers=ALICE, timeout=10)
    assert spec.status_code == 200
    assert spec.json()["security"] == [{"apiKey": []}]


def test_a_job_is_invisible_to_other_keys(keyed: Stack) -> None:
    # Given a job of alice's
    resp = post(keyed, {"reportType": "noop", "parameters": {"steps": 1}}, ALICE)
    assert resp.status_code == 202
    job = resp.json()["id"]
    final, _ = poll(keyed.base_url, resp.headers["Location"], headers=ALICE)
    assert final["status"] == "Complete"
    # Then bob gets 404 for all of it, exactly as for an unknown id, and cannot delete it
    for method, path in [("GET", "/status"), ("GET", "/download"), ("DELETE", "")]:
        theirs = requests.request(
            method, f"{keyed.base_url}/api/reports/{job}{path}", headers=BOB, timeout=10
        )
        assert theirs.status_code == 404, theirs.text
        assert (
            job not in requests.get(keyed.base_url + "/api/reports", headers=BOB, timeout=10).text
        )
    # And alice still sees it
    mine = requests.get(f"{keyed.base_url}/api/reports/{job}/download", headers=ALICE, timeout=10)
    assert mine.status_code == 200


def test_list_pages_newest_first_with_filters(keyed: Stack) -> None:
    # Given carol-free alice jobs of two types, finished
    made = []
    for i in range(5):
        kind = "noop" if i % 2 == 0 else "yearly-sales"
        params = {"steps": 1} if kind == "noop" else {"year": 2020 + i}
        resp = post(keyed, {"reportType": kind, "parameters": params}, ALICE)
        made.append(resp.json()["id"])
        poll(keyed.base_url, resp.headers["Location"], headers=ALICE)
    # When alice pages through her jobs two at a time
    seen: list[dict[str, Any]] = []
    url: str | None = f"{keyed.base_url}/api/reports?limit=2"
    while url:
        page = requests.get(url, headers=ALICE, timeout=10)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        seen += body["items"]
        url = (
            f"{keyed.base_url}/api/reports?limit=2&cursor={body['next']}" if body["next"] else None
        )
    ids = [d["id"] for d in seen]
    # Then every job shows once, newest first
    assert len(ids) == len(set(ids))
    assert [i for i in ids if i in made] == list(reversed(made))
    created = [d["createdAt"] for d in seen]
    assert created == sorted(created, reverse=True)
    # And filters keep only matching jobs
    noop = requests.get(
        f"{keyed.base_url}/api/reports?reportType=noop&status=Complete&limit=100",
        headers=ALICE,
        timeout=10,
    ).json()
    assert noop["items"] and all(
        d["reportType"] == "noop" and d["status"] == "Complete" for d in noop["items"]
    )
    assert {made[0], made[2], made[4]} <= {d["id"] for d in noop["items"]}
    failed = requests.get(
        f"{keyed.base_url}/api/reports?status=Failed", headers=ALICE, timeout=10
    ).json()
    assert failed == {"items": [], "next": None}


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=x", "status=Done", "cursor=not-a-cursor"]
)
def test_bad_list_queries_are_422(keyed: Stack, query: str) -> None:
    resp = requests.get(f"{keyed.base_url}/api/reports?{query}", headers=ALICE, timeout=10)
    assert resp.status_code == 422, resp.text
    assert query.split("=")[0] in resp.json()["errors"]


def test_racing_posts_with_one_idempotency_key_queue_one_task(
    keyed: Stack, keyed_redis: redis.Redis
) -> None:
    # Given a body nobody sent before, and one key
    marker = 100 + uuid.uuid4().int % 800
    body = {"reportType": "noop", "parameters": {"steps": marker}}
    headers = {**ALICE, "Idempotency-Key": str(uuid.uuid4())}
    barrier = threading.Barrier(4)
    answers: list[requests.Response] = []

    def send() -> None:
        barrier.wait()
        answers.append(post(keyed, body, headers))

    # When four clients send it at the same moment
    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then all get the same job
    assert [r.status_code for r in answers] == [202] * 4, [r.text for r in answers]
    assert len({r.headers["Location"] for r in answers}) == 1
    job = answers[0].json()["id"]
    # And exactly one job record and one task exist for that body
    records = [
        k
        for k in keyed_redis.scan_iter(KEYS.job("*"))
        if f'"steps":{marker}' in (keyed_redis.hget(k, "parameters") or "")
    ]
    assert records == [KEYS.job(job)]
    poll(keyed.base_url, answers[0].headers["Location"], headers=ALICE, timeout=60)
    assert keyed.log("worker0").count(f"[{job}] received") == 1
    # And a later repeat still names the same job, while another body is refused
    again = post(keyed, body, headers)
    assert again.status_code == 202 and again.json()["id"] == job
    other = post(keyed, {"reportType": "noop", "parameters": {"steps": 2}}, headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["errors"]
    # And the same key is independent for another client
    theirs = post(keyed, body, {**BOB, "Idempotency-Key": headers["Idempotency-Key"]})
    assert theirs.status_code == 202 and theirs.json()["id"] != job


def test_an_oversized_body_is_413_for_a_valid_client(keyed: Stack) -> None:
    body = '{"reportType": "noop", "parameters": {"steps": "' + "1" * 100_000 + '"}}'
    resp = requests.post(
        f"{keyed.base_url}/api/reports",
        data=body,
        headers={**ALICE, "Content-Type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 413
    assert resp.headers["Content-Type"] == "application/problem+json"
