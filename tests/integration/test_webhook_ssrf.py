"""SSRF at submit through the real processes: with the operator's allowance off (the
default), a webhook URL to a loopback, private, link-local or multicast address, or a name
resolving to loopback, is a 422 problem naming `webhook`, and nothing is created or queued."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import requests

from devstack.stack import Stack
from tests.integration.imports import csv_text, left_behind, post_import, rows_in
from tests.integration.stacks import extra_stack, redis_db
from tests.webhook_urls import INTERNAL_URLS

pytestmark = pytest.mark.integration

DB = 6  # shared with other modules' web-only stacks, never at the same time


@pytest.fixture(scope="module")
def guarded(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[tuple[Stack, redis.Redis]]:
    """The web alone with the platform's defaults: WEBHOOK_ALLOW_PRIVATE_NETWORKS unset.
    No worker, so an accepted job would stay queued, visibly."""
    with extra_stack(tmp_path_factory.mktemp("ssrf"), redis_url, DB, sqlite_url, {}, 0) as s:
        assert "WEBHOOK_ALLOW_PRIVATE_NETWORKS" not in s.env
        client = redis.Redis.from_url(redis_db(redis_url, DB), decode_responses=True)
        yield s, client
        client.close()


def assert_refused(resp: requests.Response) -> None:
    assert resp.status_code == 422, resp.text
    assert resp.headers["Content-Type"] == "application/problem+json"
    (message,) = resp.json()["errors"]["webhook"]
    assert "internal address" in message


def report(webhook: str | None) -> dict[str, object]:
    body: dict[str, object] = {"reportType": "yearly-sales", "parameters": {"year": "2023"}}
    if webhook:
        body["webhook"] = webhook
    return body


def test_a_submit_without_a_webhook_is_queued(
    guarded: tuple[Stack, redis.Redis], sqlite_url: str
) -> None:
    # The control: what the refusals below must not leave, an accepted job leaves
    stack, store = guarded
    jobs, queued, _ = left_behind(stack, store, sqlite_url)
    resp = requests.post(f"{stack.base_url}/api/reports", json=report(None), timeout=10)
    assert resp.status_code == 202, resp.text
    assert left_behind(stack, store, sqlite_url)[:2] == (jobs + 1, queued + 1)


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_a_report_with_an_internal_webhook_is_422_and_queues_nothing(
    guarded: tuple[Stack, redis.Redis], sqlite_url: str, url: str
) -> None:
    stack, store = guarded
    before = left_behind(stack, store, sqlite_url)
    # When a client submits a report whose webhook points inside the network
    resp = requests.post(f"{stack.base_url}/api/reports", json=report(url), timeout=10)
    # Then it is refused naming the field, and nothing was created or queued
    assert_refused(resp)
    assert left_behind(stack, store, sqlite_url) == before


@pytest.mark.parametrize("url", INTERNAL_URLS[:2])
def test_an_import_with_an_internal_webhook_is_422_and_stages_nothing(
    guarded: tuple[Stack, redis.Redis], sqlite_url: str, url: str
) -> None:
    stack, store = guarded
    before = left_behind(stack, store, sqlite_url)
    # When a CSV import asks, in its query, for a webhook inside the network
    resp = post_import(stack.base_url, csv_text(rows_in(2039, 20)), params={"webhook": url})
    # Then it is refused before the file is staged, and nothing is queued
    assert_refused(resp)
    assert left_behind(stack, store, sqlite_url) == before
