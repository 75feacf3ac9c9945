"""What a careful client of API.md needs: submit, poll, and checks of documents and problems."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime
from typing import Any

import requests

SEED_BODY: dict[str, Any] = {"reportType": "yearly-sales", "parameters": {"year": "2023"}}
TERMINAL = {"Complete", "Failed", "Cancelled"}
STATE_OF_STATUS = {
    "In Progress": {"queued", "running", "retrying"},
    "Complete": {"succeeded"},
    "Failed": {"failed"},
    "Cancelled": {"cancelled"},
}
ETR = re.compile(r"^\d+ seconds$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
STATUS_PATH = re.compile(r"^/api/reports/([^/]+)/status$")
TRACE_MARKERS = ("Traceback (most recent call last)", 'File "/', '.py", line ')
TIMEOUT = 10


def submit(base: str, body: Any = None, **kwargs: Any) -> requests.Response:
    """POST /api/reports with a JSON body (the seed's by default)."""
    return requests.post(
        f"{base}/api/reports", json=SEED_BODY if body is None else body, timeout=TIMEOUT, **kwargs
    )


def job_id(resp: requests.Response) -> str:
    """The id in a 202's Location header."""
    match = STATUS_PATH.match(resp.headers["Location"])
    assert match, resp.headers["Location"]
    return match.group(1)


def retry_after(resp: requests.Response) -> int:
    """Retry-After as the integer number of seconds API.md promises."""
    value = resp.headers["Retry-After"]
    assert re.fullmatch(r"\d+", value), f"Retry-After is not an integer: {value!r}"
    return int(value)


def poll(
    base: str, location: str, timeout: float = 30.0, honour_retry_after: bool = False
) -> dict[str, Any]:
    """GET the status until terminal; returns the last status document."""
    deadline = time.monotonic() + timeout
    doc: dict[str, Any] = {}
    while time.monotonic() < deadline:
        resp = requests.get(base + location, timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        doc = resp.json()
        if doc["status"] in TERMINAL:
            return doc
        pause = min(retry_after(resp), 2) if honour_retry_after else 0.05
        time.sleep(pause)
    raise AssertionError(f"{location} not terminal after {timeout}s: {doc}")


def run_seed_job(base: str, body: Any = None) -> tuple[str, dict[str, Any]]:
    """Submit (the seed body by default) and poll to the end; (id, final document)."""
    resp = submit(base, body)
    assert resp.status_code == 202, resp.text
    return job_id(resp), poll(base, resp.headers["Location"])


def assert_uuid4(value: str) -> None:
    parsed = uuid.UUID(value)
    assert parsed.version == 4, value
    assert str(parsed) == value.lower(), value


def assert_rfc3339(value: Any) -> datetime:
    assert isinstance(value, str) and RFC3339.match(value), f"not RFC 3339: {value!r}"
    return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))


def assert_no_trace(resp: requests.Response) -> None:
    for marker in TRACE_MARKERS:
        assert marker not in resp.text, f"stack trace in {resp.status_code} body: {resp.text}"


def assert_problem(resp: requests.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 problem document with the given status, as API.md requires of every error."""
    assert resp.status_code == status, f"{resp.status_code} {resp.text[:500]}"
    assert resp.headers.get("Content-Type", "").startswith("application/problem+json"), (
        resp.headers.get("Content-Type"),
        resp.text[:300],
    )
    assert_no_trace(resp)
    body = resp.json()
    for key in ("type", "title", "status", "detail", "instance"):
        assert key in body, f"problem without {key!r}: {body}"
    for key in ("type", "title", "detail", "instance"):
        assert isinstance(body[key], str) and body[key], f"{key} empty: {body}"
    assert body["status"] == status, body
    assert body["instance"].startswith("/"), body
    return body


def assert_status_document(doc: dict[str, Any], jid: str | None = None) -> None:
    """The status document's fields and allowed values, per API.md."""
    if jid is not None:
        assert doc["id"] == jid
    assert_uuid4(doc["id"])
    assert isinstance(doc["reportType"], str)
    assert isinstance(doc["parameters"], dict)
    assert doc["status"] in STATE_OF_STATUS, doc
    assert doc["state"] in STATE_OF_STATUS[doc["status"]], doc
    progress = doc["progress"]
    assert isinstance(progress, dict), doc
    assert isinstance(progress["percent"], int | float) and 0 <= progress["percent"] <= 100
    assert progress["current"] is None or isinstance(progress["current"], int)
    assert progress["total"] is None or isinstance(progress["total"], int)
    if "estimatedTimeRemaining" in doc:
        assert doc["status"] == "In Progress", doc
        assert isinstance(doc["estimatedTimeRemaining"], str)
        assert ETR.match(doc["estimatedTimeRemaining"]), doc["estimatedTimeRemaining"]
    created = assert_rfc3339(doc["createdAt"])
    for key in ("startedAt", "finishedAt"):
        assert key in doc, f"{key} missing: {doc}"
        if doc[key] is not None:
            assert assert_rfc3339(doc[key]) >= created.replace(microsecond=0), doc
    if doc["status"] in TERMINAL:
        assert doc["finishedAt"] is not None, doc
    else:
        assert doc["finishedAt"] is None, doc
    links = doc["links"]
    assert links["self"] == f"/api/reports/{doc['id']}/status", links
    if doc["status"] == "Complete":
        assert doc["reportURL"] == f"/api/reports/{doc['id']}/download", doc
        assert links["report"] == doc["reportURL"], links
    else:
        assert "reportURL" not in doc, doc
    if doc["status"] == "In Progress":
        assert links.get("cancel") == f"/api/reports/{doc['id']}", links
    if doc["status"] == "Failed":
        error = doc["error"]
        for key in ("type", "title", "detail"):
            assert isinstance(error[key], str) and error[key], error
