"""A small polling client for the tests, written against API.md."""

from __future__ import annotations

import time
from typing import Any

import requests

TERMINAL = {"Complete", "Failed", "Cancelled"}


def submit(
    base_url: str, report_type: str, parameters: dict[str, Any], **kwargs: Any
) -> requests.Response:
    """POST /api/reports."""
    return requests.post(
        f"{base_url}/api/reports",
        json={"reportType": report_type, "parameters": parameters},
        timeout=10,
        **kwargs,
    )


def poll(
    base_url: str, location: str, timeout: float = 30.0, **kwargs: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Poll a status URL until it is terminal; return the last document and all seen."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = requests.get(base_url + location, timeout=10, **kwargs)
        assert resp.status_code == 200, resp.text
        doc = resp.json()
        seen.append(doc)
        if doc["status"] in TERMINAL:
            return doc, seen
        time.sleep(0.05)
    raise AssertionError(f"job at {location} not finished after {timeout}s: {seen[-1:]}")


def run_job(
    base_url: str, report_type: str, parameters: dict[str, Any], timeout: float = 30.0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Submit and poll to the end."""
    resp = submit(base_url, report_type, parameters)
    assert resp.status_code == 202, resp.text
    return poll(base_url, resp.headers["Location"], timeout)
