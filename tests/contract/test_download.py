"""The result: JSON and CSV downloads, 409 before completion, 404 unknown (API.md, "The result")."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid

import pytest
import requests

from tests.contract.client import assert_problem, job_id, retry_after, run_seed_job, submit
from tests.contract.conftest import Service


@pytest.fixture(scope="module")
def done(service: Service) -> str:
    """The id of a completed job of the seed's request."""
    jid, doc = run_seed_job(service.base)
    assert doc["status"] == "Complete", doc
    return jid


def _attachment(resp: requests.Response, extension: str) -> None:
    disposition = resp.headers.get("Content-Disposition", "")
    assert re.match(r"^attachment;\s*filename=", disposition), disposition
    assert re.search(rf"filename=\"?[^\"/\\]+\.{extension}\"?$", disposition), disposition


def test_json_by_default(service: Service, done: str) -> None:
    resp = requests.get(f"{service.base}/api/reports/{done}/download", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    _attachment(resp, "json")
    assert isinstance(resp.json(), dict)


def test_json_when_asked_for_json(service: Service, done: str) -> None:
    url = f"{service.base}/api/reports/{done}/download"
    for resp in (
        requests.get(url, headers={"Accept": "application/json"}, timeout=10),
        requests.get(url, params={"format": "json"}, timeout=10),
    ):
        assert resp.status_code == 200
        assert resp.headers["Content-Type"].startswith("application/json")
        json.loads(resp.text)


@pytest.mark.parametrize("how", ["accept", "query"])
def test_csv_on_request(service: Service, done: str, how: str) -> None:
    url = f"{service.base}/api/reports/{done}/download"
    if how == "accept":
        resp = requests.get(url, headers={"Accept": "text/csv"}, timeout=10)
    else:
        resp = requests.get(url, params={"format": "csv"}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/csv")
    _attachment(resp, "csv")
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert len(rows) >= 2
    # the header is the output columns the catalogue publishes
    types = requests.get(f"{service.base}/api/report-types", timeout=10).json()
    catalogue = types["items"] if isinstance(types, dict) else types
    yearly = next(t for t in catalogue if t["name"] == "yearly-sales")
    assert rows[0] == yearly["columns"]


def test_csv_and_json_agree(service: Service, done: str) -> None:
    url = f"{service.base}/api/reports/{done}/download"
    as_json = requests.get(url, timeout=10).json()
    as_csv = list(csv.DictReader(io.StringIO(requests.get(url + "?format=csv", timeout=10).text)))
    assert len(as_csv) == 12 == len(as_json["months"])
    for row, month in zip(as_csv, as_json["months"], strict=True):
        assert row["month"] == month["month"]
        assert int(row["orders"]) == month["orders"]
        assert int(row["units"]) == month["units"]
        assert float(row["revenue"]) == pytest.approx(float(month["revenue"]), abs=0.001)


def test_download_before_completion_is_409_with_location_and_retry_after(
    idle_service: Service,
) -> None:
    # Given a job that stays queued (no worker)
    resp = submit(idle_service.base)
    jid = job_id(resp)
    # When its report is asked for
    got = requests.get(f"{idle_service.base}/api/reports/{jid}/download", timeout=10)
    # Then 409 problem details pointing at the status resource, with Retry-After
    problem = assert_problem(got, 409)
    assert got.headers["Location"] == f"/api/reports/{jid}/status"
    assert f"/api/reports/{jid}/status" in json.dumps(problem)
    assert retry_after(got) >= 1
    csv_got = requests.get(f"{idle_service.base}/api/reports/{jid}/download?format=csv", timeout=10)
    assert_problem(csv_got, 409)
    assert csv_got.headers["Location"] == f"/api/reports/{jid}/status"


@pytest.mark.parametrize("job", [str(uuid.uuid4()), "not-a-uuid"])
def test_download_of_unknown_job_is_404(service: Service, job: str) -> None:
    for suffix in ("", "?format=csv"):
        resp = requests.get(f"{service.base}/api/reports/{job}/download{suffix}", timeout=10)
        assert_problem(resp, 404)
