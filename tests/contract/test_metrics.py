"""GET /metrics: Prometheus text (API.md, "Operations")."""

from __future__ import annotations

import requests
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.contract.client import assert_problem, run_seed_job, submit
from tests.contract.conftest import ADMIN_KEY, KEYS, Service, bearer


def _families(base: str) -> list[Metric]:
    resp = requests.get(f"{base}/metrics", timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith(("text/plain", "application/openmetrics-text"))
    return list(text_string_to_metric_families(resp.text))


def _samples(families: list[Metric], *words: str) -> list[Sample]:
    return [s for f in families if all(w in f.name for w in words) for s in f.samples]


def _yearly_total(families: list[Metric], word: str) -> float:
    return sum(
        s.value
        for s in _samples(families, word)
        if "yearly-sales" in s.labels.values() and not s.name.endswith("_created")
    )


def test_metrics_cover_submitted_finished_durations_queue_and_workers(service: Service) -> None:
    run_seed_job(service.base)
    families = _families(service.base)
    names = " ".join(f.name for f in families)
    assert _yearly_total(families, "submit") >= 1, names
    finished = [s for s in _samples(families, "finish") if "yearly-sales" in s.labels.values()]
    assert finished, names
    assert any(
        {"succeeded", "success", "complete", "Complete"} & set(s.labels.values()) for s in finished
    ), finished
    assert _samples(families, "duration"), names
    assert _samples(families, "queue"), names
    workers = _samples(families, "worker")
    assert workers and max(s.value for s in workers) >= 1, names


def test_submitted_counter_counts_every_submission(service: Service) -> None:
    before = _yearly_total(_families(service.base), "submit")
    for _ in range(4):
        assert submit(service.base).status_code == 202
    # whichever web process answers, the count is the service's, not one process's
    for _ in range(4):
        assert _yearly_total(_families(service.base), "submit") - before == 4


def test_metrics_need_the_admin_key_when_keys_are_configured(keyed_service: Service) -> None:
    url = f"{keyed_service.base}/metrics"
    assert_problem(requests.get(url, timeout=10), 401)
    client = requests.get(url, headers=bearer(KEYS["alice"]), timeout=10)
    assert client.status_code in {401, 403}, client.text
    assert_problem(client, client.status_code)
    admin = requests.get(url, headers=bearer(ADMIN_KEY), timeout=10)
    assert admin.status_code == 200, admin.text
    assert list(text_string_to_metric_families(admin.text))
