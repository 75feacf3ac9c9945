"""The reuse tests' stack (tests/integration/test_reuse*.py): a web and a worker over a
sales database of their own (they import and insert rows), and the requests they make."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import requests

from devstack.stack import Stack
from tests.integration.imports import wait_done

ALICE = {"Authorization": "Bearer alice-key"}
BOB = {"Authorization": "Bearer bob-key"}
OPS = {"Authorization": "Bearer ops-key"}
FINGERPRINT_SECONDS = 1.0
ENV = {
    "API_KEYS": "alice:alice-key,bob:bob-key",
    "ADMIN_API_KEYS": "ops:ops-key",
    "ENABLE_DIAGNOSTIC_REPORTS": "1",
    "DATA_FINGERPRINT_SECONDS": str(FINGERPRINT_SECONDS),
}


@dataclass
class ReuseStack:
    """A stack with a sales database of this module's own (it imports and inserts rows)."""

    stack: Stack
    database_url: str

    @property
    def postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def base(self) -> str:
        return self.stack.base_url

    def submit(
        self, body: dict[str, Any], who: dict[str, str] = ALICE, **headers: str
    ) -> requests.Response:
        sent = {**who, **{k.replace("_", "-"): v for k, v in headers.items()}}
        resp = requests.post(f"{self.base}/api/reports", json=body, headers=sent, timeout=30)
        assert resp.status_code in (200, 202), resp.text
        return resp

    def finished(self, resp: requests.Response, who: dict[str, str] = ALICE) -> dict[str, Any]:
        return wait_done(self.base, resp.headers["Location"], who, timeout=120)

    def download(self, doc: dict[str, Any], who: dict[str, str] = ALICE) -> dict[str, Any]:
        resp = requests.get(self.base + doc["reportURL"], headers=who, timeout=30)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def reuse_counts(self) -> dict[str, float]:
        text = requests.get(f"{self.base}/metrics", headers=OPS, timeout=10).text
        found = re.findall(
            r'async_reports_reuse_total\{kind="report",outcome="(\w+)"\} (\S+)', text
        )
        return {outcome: float(n) for outcome, n in found}

    def computations(self, job_ids: list[str]) -> int:
        log = self.stack.log("worker0")
        return sum(log.count(f"[{job_id}] received") for job_id in job_ids)


def yearly(year: Any) -> dict[str, Any]:
    return {"reportType": "yearly-sales", "parameters": {"year": year}}


def noop(**parameters: Any) -> dict[str, Any]:
    """A slow diagnostic report that asks to be shared like a real one."""
    return {"reportType": "noop", "parameters": {**parameters, "reuse": True}}
