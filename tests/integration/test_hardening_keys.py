"""Probes of the key checks: keyless requests anywhere under /api get a 401 problem, and
the ops paths still ask for an admin key (the web alone, with client and admin keys)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from devstack.stack import Stack
from tests.integration.hardening import assert_problem
from tests.integration.stacks import extra_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keyed_stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[Stack]:
    """The web alone, with client and admin keys."""
    env = {"API_KEYS": "alice:k-alice", "ADMIN_API_KEYS": "root:k-root"}
    with extra_stack(tmp_path_factory.mktemp("keyed"), redis_url, 12, sqlite_url, env, 0) as s:
        yield s


@pytest.mark.parametrize("path", ["/api/opsx", "/api/ops-x/y", "/api/opsjobs", "/api/nothing"])
def test_keyless_requests_under_api_get_401_whatever_the_prefix(
    keyed_stack: Stack, path: str
) -> None:
    resp = requests.get(f"{keyed_stack.base_url}{path}", timeout=10)
    assert_problem(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_ops_paths_still_ask_for_an_admin_key(keyed_stack: Stack) -> None:
    assert_problem(requests.get(f"{keyed_stack.base_url}/api/ops/overview", timeout=10), 401)
    resp = requests.get(
        f"{keyed_stack.base_url}/api/ops/overview",
        headers={"Authorization": "Bearer k-root"},
        timeout=10,
    )
    assert resp.status_code != 401, resp.text
