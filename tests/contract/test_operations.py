"""Operations: /healthz liveness and /readyz readiness (API.md, "Operations")."""

from __future__ import annotations

import requests

from tests.contract.client import assert_no_trace
from tests.contract.conftest import Service


def test_healthz_is_up(service: Service, idle_service: Service) -> None:
    for svc in (service, idle_service):
        resp = requests.get(f"{svc.base}/healthz", timeout=10)
        assert resp.status_code == 200


def test_readyz_is_200_with_broker_store_and_a_worker(service: Service) -> None:
    resp = requests.get(f"{service.base}/readyz", timeout=10)
    assert resp.status_code == 200, resp.text


def test_readyz_is_503_saying_what_is_missing_without_a_worker(idle_service: Service) -> None:
    resp = requests.get(f"{idle_service.base}/readyz", timeout=10)
    assert resp.status_code == 503, resp.text
    assert "worker" in resp.text.lower()
    assert_no_trace(resp)
