"""Two kinds of client on concurrent jobs: a naive one that polls in a tight loop, and a
careful one that honours Retry-After and revalidates with ETag. Both get the right report."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

from tests.contract import dataset
from tests.contract.client import (
    TERMINAL,
    assert_status_document,
    job_id,
    retry_after,
    submit,
)
from tests.contract.conftest import Service

NAIVE_DEADLINE = 60.0  # seconds: a bound on the naive loop, so it always ends


@dataclass
class Outcome:
    final: dict[str, Any]
    report: dict[str, Any]
    statuses: list[int] = field(default_factory=list)
    waits: list[tuple[int, float]] = field(default_factory=list)  # (Retry-After, slept)


def naive(base: str) -> Outcome:
    """Polls as fast as it can, ignores Retry-After and ETag."""
    with requests.Session() as http:
        resp = http.post(f"{base}/api/reports", json=dataset_body(), timeout=10)
        assert resp.status_code == 202, resp.text
        statuses = []
        deadline = time.monotonic() + NAIVE_DEADLINE
        while True:
            got = http.get(base + resp.headers["Location"], timeout=10)
            statuses.append(got.status_code)
            assert got.status_code == 200, got.text
            doc = got.json()
            if doc["status"] in TERMINAL:
                break
            assert time.monotonic() < deadline, f"not finished after {len(statuses)} polls"
        report = http.get(base + doc["reportURL"], timeout=10).json()
        return Outcome(doc, report, statuses)


def careful(base: str) -> Outcome:
    """Waits Retry-After between polls, sends If-None-Match, revalidates at the end."""
    with requests.Session() as http:
        resp = submit(base)
        assert resp.status_code == 202, resp.text
        doc, tag = resp.json(), resp.headers.get("ETag")
        wait = retry_after(resp)
        statuses: list[int] = []
        waits: list[tuple[int, float]] = []
        deadline = time.monotonic() + 60
        while doc["status"] not in TERMINAL and time.monotonic() < deadline:
            started = time.monotonic()
            time.sleep(wait)
            waits.append((wait, time.monotonic() - started))
            headers = {"If-None-Match": tag} if tag else {}
            got = http.get(base + resp.headers["Location"], headers=headers, timeout=10)
            statuses.append(got.status_code)
            assert got.status_code in {200, 304}, got.text
            if got.status_code == 200:
                doc, tag = got.json(), got.headers["ETag"]
            if doc["status"] not in TERMINAL:
                wait = retry_after(got)
        assert doc["status"] in TERMINAL, doc
        again = http.get(
            base + resp.headers["Location"], headers={"If-None-Match": tag}, timeout=10
        )
        statuses.append(again.status_code)
        assert again.status_code == 304, again.status_code
        report = http.get(base + doc["reportURL"], timeout=10).json()
        return Outcome(doc, report, statuses, waits)


def dataset_body() -> dict[str, Any]:
    return {"reportType": "yearly-sales", "parameters": {"year": str(dataset.YEAR)}}


def _check(outcome: Outcome) -> None:
    assert_status_document(outcome.final)
    assert outcome.final["status"] == "Complete"
    summary = outcome.report["summary"]
    assert (summary["orders"], summary["units"]) == (24, 90)
    assert Decimal(str(summary["revenue"])) == dataset.BY_HAND["revenue"]


def test_naive_and_careful_clients_on_concurrent_jobs(service: Service) -> None:
    # Given three naive and three careful clients starting together
    with ThreadPoolExecutor(max_workers=6) as pool:
        naive_runs = [pool.submit(naive, service.base) for _ in range(3)]
        careful_runs = [pool.submit(careful, service.base) for _ in range(3)]
        naives = [f.result(timeout=90) for f in naive_runs]
        carefuls = [f.result(timeout=90) for f in careful_runs]
    # Then every client gets a complete job and the same, correct report
    for outcome in naives + carefuls:
        _check(outcome)
    ids = {o.final["id"] for o in naives + carefuls}
    assert len(ids) == 6
    # And the naive client was never refused (over-polling limits are off unless configured)
    for outcome in naives:
        assert set(outcome.statuses) == {200}
    # And the careful client slept what it was told, and a revalidation of a finished job is 304
    for outcome in carefuls:
        assert all(slept >= told for told, slept in outcome.waits)
        assert all(told >= 1 for told, _ in outcome.waits)
        assert outcome.statuses[-1] == 304


def test_service_still_healthy_after_the_naive_clients(service: Service) -> None:
    resp = submit(service.base)
    assert resp.status_code == 202
    assert job_id(resp)
    assert requests.get(f"{service.base}/readyz", timeout=10).status_code == 200
