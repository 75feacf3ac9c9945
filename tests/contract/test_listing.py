"""Listing: GET /api/reports?status=&reportType=&limit=&cursor= (API.md, "Listing")."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.contract.client import (
    assert_problem,
    assert_rfc3339,
    assert_status_document,
    job_id,
    run_seed_job,
    submit,
)
from tests.contract.conftest import Service


def _page(base: str, **params: Any) -> dict[str, Any]:
    resp = requests.get(f"{base}/api/reports", params=params, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = resp.json()
    assert set(body) >= {"items", "next"}, body
    assert isinstance(body["items"], list)
    assert body["next"] is None or (isinstance(body["next"], str) and body["next"])
    return body


def _all(base: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        body = _page(base, **params, **({"cursor": cursor} if cursor else {}))
        items.extend(body["items"])
        cursor = body["next"]
        if cursor is None:
            return items
    raise AssertionError("pagination never ended")


def test_items_are_status_documents_newest_first(idle_service: Service) -> None:
    mine = [job_id(submit(idle_service.base)) for _ in range(3)]
    items = _page(idle_service.base)["items"]
    for doc in items:
        assert_status_document(doc)
    ids = [d["id"] for d in items]
    positions = [ids.index(j) for j in mine]
    assert positions == sorted(positions, reverse=True), (mine, ids)
    created = [assert_rfc3339(d["createdAt"]) for d in items]
    assert created == sorted(created, reverse=True)


def test_pagination_walks_every_job_once(idle_service: Service) -> None:
    mine = [job_id(submit(idle_service.base)) for _ in range(5)]
    whole = [d["id"] for d in _all(idle_service.base)]
    paged = [d["id"] for d in _all(idle_service.base, limit=2)]
    assert len(paged) == len(set(paged)), "a job was listed twice"
    assert set(mine) <= set(paged)
    assert [j for j in paged if j in mine] == list(reversed(mine))
    # the first pages hold at most `limit` items
    first = _page(idle_service.base, limit=2)
    assert len(first["items"]) <= 2
    assert first["next"] is not None
    assert set(paged) == set(whole)


def test_filters_by_report_type_and_status(service: Service) -> None:
    done_id, _ = run_seed_job(service.base)
    monthly = submit(
        service.base, {"reportType": "monthly-sales", "parameters": {"year": "2023", "month": 8}}
    )
    assert monthly.status_code == 202
    yearly = _all(service.base, reportType="yearly-sales")
    assert yearly and all(d["reportType"] == "yearly-sales" for d in yearly)
    assert done_id in {d["id"] for d in yearly}
    assert job_id(monthly) not in {d["id"] for d in yearly}
    complete = _all(service.base, status="Complete")
    assert complete and all(d["status"] == "Complete" for d in complete)
    assert done_id in {d["id"] for d in complete}


def test_in_progress_filter(idle_service: Service) -> None:
    jid = job_id(submit(idle_service.base))
    items = _all(idle_service.base, status="In Progress")
    assert all(d["status"] == "In Progress" for d in items)
    assert jid in {d["id"] for d in items}


@pytest.mark.parametrize(
    "params",
    [{"limit": "abc"}, {"limit": "-1"}, {"cursor": "not-a-cursor!"}, {"status": "Sleeping"}],
    ids=["limit-word", "limit-negative", "bad-cursor", "bad-status"],
)
def test_bad_query_is_a_client_error_problem(idle_service: Service, params: dict[str, str]) -> None:
    resp = requests.get(f"{idle_service.base}/api/reports", params=params, timeout=10)
    assert resp.status_code in {400, 422}, resp.text
    assert_problem(resp, resp.status_code)


def test_openapi_lists_get_reports(service: Service) -> None:
    paths = requests.get(f"{service.base}/api/openapi.json", timeout=10).json()["paths"]
    assert "get" in paths.get("/api/reports", {}), sorted(paths)
