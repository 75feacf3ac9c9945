"""A third job kind that exists only in the tests (tests/kinds/echo.py), registered through
JOB_KINDS and served by the unchanged core through the real processes: proof that a kind
is one module and one registry line."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from devstack.stack import Stack
from tests.integration.client import poll
from tests.integration.stacks import extra_stack

pytestmark = pytest.mark.integration

DB = 5
KINDS = "kinds.reports,kinds.imports,tests.kinds.echo"


@pytest.fixture(scope="module")
def echo_stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[Stack]:
    env = {"JOB_KINDS": KINDS, "API_KEYS": "alice:alice-key,bob:bob-key"}
    with extra_stack(tmp_path_factory.mktemp("echo"), redis_url, DB, sqlite_url, env) as s:
        yield s


def alice() -> dict[str, str]:
    return {"Authorization": "Bearer alice-key"}


def test_the_third_kind_runs_through_the_whole_protocol(echo_stack: Stack) -> None:
    base = echo_stack.base_url
    # Given a request for the test's own kind
    body = {"message": "hello", "times": 4}
    resp = requests.post(f"{base}/api/echoes", json=body, headers=alice(), timeout=10)
    # Then the core accepts it like any job: 202, Location, Retry-After, its document
    assert resp.status_code == 202, resp.text
    doc = resp.json()
    assert resp.headers["Location"] == f"/api/echoes/{doc['id']}/status"
    assert int(resp.headers["Retry-After"]) >= 1
    assert doc["kind"] == "echo" and doc["message"] == "hello" and doc["state"] == "queued"
    # When it is polled to the end
    final, _ = poll(base, resp.headers["Location"], headers=alice())
    # Then it completes with its progress in its own unit and a link to its result
    assert final["status"] == "Complete", final
    assert final["progress"] == {"percent": 100, "current": 4, "total": 4, "unit": "repeats"}
    assert final["echoURL"] == final["links"]["echo"] == f"/api/echoes/{doc['id']}/download"
    # And its result renders as the kind says, in both formats
    got = requests.get(base + final["echoURL"], headers=alice(), timeout=10)
    assert got.json() == {"lines": [f"{i}: hello" for i in range(1, 5)]}
    csv = requests.get(base + final["echoURL"] + "?format=csv", headers=alice(), timeout=10)
    assert csv.headers["Content-Type"].startswith("text/csv") and csv.text.count("hello") == 4
    # And the job is listed, private to its owner, then forgotten (410)
    listed = requests.get(f"{base}/api/echoes", headers=alice(), timeout=10).json()
    assert [d["id"] for d in listed["items"]] == [doc["id"]]
    other = requests.get(
        base + resp.headers["Location"], headers={"Authorization": "Bearer bob-key"}, timeout=10
    )
    assert other.status_code == 404
    gone = requests.delete(f"{base}/api/echoes/{doc['id']}", headers=alice(), timeout=10)
    assert gone.status_code == 204
    assert (
        requests.get(base + resp.headers["Location"], headers=alice(), timeout=10).status_code
        == 410
    )


def test_the_third_kind_gets_validation_idempotency_and_cancel(echo_stack: Stack) -> None:
    base = echo_stack.base_url
    # A body its schema rejects is a 422 with errors by field, and makes no job
    bad = requests.post(f"{base}/api/echoes", json={"times": 0}, headers=alice(), timeout=10)
    assert bad.status_code == 422 and {"message", "times"} <= set(bad.json()["errors"])
    # The same Idempotency-Key twice is one job
    key = {"Idempotency-Key": str(uuid.uuid4()), **alice()}
    body = {"message": "slow", "times": 50, "stepSeconds": 0.2}
    first = requests.post(f"{base}/api/echoes", json=body, headers=key, timeout=10)
    again = requests.post(f"{base}/api/echoes", json=body, headers=key, timeout=10)
    assert first.status_code == again.status_code == 202
    assert first.headers["Location"] == again.headers["Location"]
    # And DELETE cancels it while it runs
    job = first.json()["id"]
    cancel = requests.delete(f"{base}/api/echoes/{job}", headers=alice(), timeout=10)
    assert cancel.status_code == 202
    final, _ = poll(base, first.headers["Location"], headers=alice())
    assert final["status"] == "Cancelled"


def test_the_third_kind_is_in_the_openapi_document(echo_stack: Stack) -> None:
    spec = requests.get(f"{echo_stack.base_url}/api/openapi.json", headers=alice(), timeout=10)
    paths = spec.json()["paths"]
    assert {"/api/echoes", "/api/echoes/{job_id}/status", "/api/echoes/{job_id}/download"} <= set(
        paths
    )
