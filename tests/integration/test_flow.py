"""The seed's flow end to end: real gunicorn, real Celery worker, real Redis."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
import requests

from devstack.stack import Stack
from tests.integration.client import poll, run_job, submit

pytestmark = pytest.mark.integration

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

EVERY_TYPE = [
    ("yearly-sales", {"year": "2023"}, "months", 12),
    ("yearly-sales", {"year": 2022}, "months", 12),
    ("monthly-sales", {"year": 2024, "month": 2}, "days", 29),
    ("top-products", {"from": "2023-01-01", "to": "2023-06-30", "limit": 5}, "products", 5),
    ("top-products", {"from": "2023-01-01", "to": "2023-12-31", "region": "North"}, "products", 10),
    ("region-breakdown", {"year": 2023, "quarter": 4}, "rows", 30),
    ("region-breakdown", {"year": 2021}, "rows", 30),
]


def test_seed_request_is_accepted_with_location_and_completes(stack: Stack) -> None:
    # Given the exact request from the seed
    resp = requests.post(
        f"{stack.base_url}/api/reports",
        timeout=10,
        json={"reportType": "yearly-sales", "parameters": {"year": "2023"}},
        # A computation of its own: the session may have computed this report already.
        headers={"Cache-Control": "no-cache"},
    )
    # Then it is accepted at once with a Location to poll
    assert resp.status_code == 202
    location = resp.headers["Location"]
    job_id = location.split("/")[3]
    assert location == f"/api/reports/{job_id}/status"
    assert UUID4.match(job_id)
    assert int(resp.headers["Retry-After"]) >= 1
    body = resp.json()
    assert body["status"] == "In Progress" and body["state"] == "queued"
    assert body["id"] == job_id and body["parameters"] == {"year": "2023"}
    # When the client polls
    final, _ = poll(stack.base_url, location)
    # Then it ends Complete with a reportURL
    assert final["status"] == "Complete" and final["state"] == "succeeded"
    assert final["reportURL"] == f"/api/reports/{job_id}/download"
    assert final["links"]["report"] == final["reportURL"]
    assert final["progress"]["percent"] == 100
    assert final["finishedAt"] and final["startedAt"] and final["createdAt"]


@pytest.mark.parametrize(("report_type", "parameters", "table", "rows"), EVERY_TYPE)
def test_every_report_type_runs_to_completion(
    stack: Stack, report_type: str, parameters: dict, table: str, rows: int
) -> None:
    final, _ = run_job(stack.base_url, report_type, parameters)
    assert final["status"] == "Complete", final
    report = requests.get(stack.base_url + final["reportURL"], timeout=10).json()
    assert report["reportType"] == report_type
    assert len(report[table]) == rows
    assert report["summary"]["orders"] > 0


def test_progress_is_reported_while_running(stack: Stack) -> None:
    # Given a job that takes visible steps
    resp = submit(stack.base_url, "noop", {"steps": 6, "stepSeconds": 0.5})
    # When a client long-polls (so it sees every change, however loaded the machine is)
    seen, etag = [], None
    for _ in range(50):
        headers = {"Prefer": "wait=10", **({"If-None-Match": etag} if etag else {})}
        got = requests.get(stack.base_url + resp.headers["Location"], headers=headers, timeout=30)
        if got.status_code == 304:
            continue
        etag = got.headers["ETag"]
        seen.append(got.json())
        if seen[-1]["status"] != "In Progress":
            break
    final = seen[-1]
    running = [d for d in seen if d["state"] == "running"]
    # Then polls saw it running with partial progress and an estimate
    assert running, seen
    partial = [d for d in running if 0 < d["progress"]["percent"] < 100]
    assert partial, running
    assert partial[-1]["progress"]["total"] == 6
    assert re.fullmatch(r"\d+ seconds", partial[-1]["estimatedTimeRemaining"])
    assert final["status"] == "Complete"


def test_in_progress_polls_carry_retry_after(stack: Stack) -> None:
    resp = submit(stack.base_url, "noop", {"steps": 3, "stepSeconds": 0.4})
    status = requests.get(stack.base_url + resp.headers["Location"], timeout=10)
    assert status.json()["status"] == "In Progress"
    assert int(status.headers["Retry-After"]) >= 1
    final, _ = poll(stack.base_url, resp.headers["Location"])
    done = requests.get(stack.base_url + resp.headers["Location"], timeout=10)
    assert "Retry-After" not in done.headers and final["status"] == "Complete"


def test_a_report_that_raises_fails_with_a_useful_error(stack: Stack) -> None:
    final, _ = run_job(stack.base_url, "noop", {"steps": 3, "failAtStep": 2})
    assert final["status"] == "Failed" and final["state"] == "failed"
    error = final["error"]
    assert set(error) == {"type", "title", "detail"}
    assert "fail at step 2" in error["detail"]
    assert "Traceback" not in str(final) and "reportURL" not in final


def test_download_of_a_failed_job_is_a_409_pointing_at_the_status(stack: Stack) -> None:
    final, _ = run_job(stack.base_url, "noop", {"steps": 1, "failAtStep": 1})
    resp = requests.get(f"{stack.base_url}/api/reports/{final['id']}/download", timeout=10)
    assert resp.status_code == 409
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.headers["Location"] == f"/api/reports/{final['id']}/status"


def test_download_before_completion_is_409_with_retry_after(stack: Stack) -> None:
    resp = submit(stack.base_url, "noop", {"steps": 4, "stepSeconds": 0.5})
    job_id = resp.json()["id"]
    early = requests.get(f"{stack.base_url}/api/reports/{job_id}/download", timeout=10)
    assert early.status_code == 409
    assert early.headers["Location"] == resp.headers["Location"]
    assert int(early.headers["Retry-After"]) >= 1
    body = early.json()
    assert body["status"] == 409 and body["links"]["status"] == resp.headers["Location"]
    poll(stack.base_url, resp.headers["Location"])


@pytest.mark.parametrize("path", ["status", "download"])
def test_unknown_and_malformed_ids_are_404(stack: Stack, path: str) -> None:
    for job_id in (str(uuid.uuid4()), "not-a-uuid", "12345"):
        resp = requests.get(f"{stack.base_url}/api/reports/{job_id}/{path}", timeout=10)
        assert resp.status_code == 404, (job_id, resp.text)
        assert resp.headers["Content-Type"] == "application/problem+json"
        body = resp.json()
        assert body["status"] == 404 and body["detail"]
        assert "queued" not in resp.text


def test_csv_and_json_downloads(stack: Stack) -> None:
    final, _ = run_job(stack.base_url, "yearly-sales", {"year": 2023})
    url = stack.base_url + final["reportURL"]
    as_json = requests.get(url, timeout=10)
    assert as_json.headers["Content-Type"] == "application/json"
    assert "attachment" in as_json.headers["Content-Disposition"]
    assert as_json.headers["Content-Disposition"].endswith('.json"')
    months = as_json.json()["months"]
    by_accept = requests.get(url, headers={"Accept": "text/csv"}, timeout=10)
    by_query = requests.get(url + "?format=csv", timeout=10)
    for resp in (by_accept, by_query):
        assert resp.status_code == 200
        assert resp.headers["Content-Type"].startswith("text/csv")
        assert resp.headers["Content-Disposition"].endswith('.csv"')
        rows = list(csv.DictReader(io.StringIO(resp.text)))
        assert [r["month"] for r in rows] == [m["month"] for m in months]
        assert [float(r["revenue"]) for r in rows] == [m["revenue"] for m in months]
        assert [int(r["orders"]) for r in rows] == [m["orders"] for m in months]
    bad = requests.get(url + "?format=xml", timeout=10)
    assert bad.status_code == 422 and "format" in bad.json()["errors"]
