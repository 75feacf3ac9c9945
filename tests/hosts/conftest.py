"""Fixtures of the namespace-host scenarios: one network and one deployment per session.

They need root, iproute2, nftables and PostgreSQL's server binaries; elsewhere they skip
with the reason, except in CI (CI=true), where a missing capability fails the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hosts.cluster import HOSTS, Cluster, cluster_on
from tests.hosts.netns import Network, unavailable_reason
from tests.hosts.services import HostProcesses, postgres_bin

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder runs on namespace hosts."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.hosts)


@pytest.fixture(scope="session")
def network() -> Iterator[Network]:
    """The switch and the hosts (store, web1, web2, worker1-3, solo); removed after."""
    reason = unavailable_reason()
    if reason is None and postgres_bin() is None:
        reason = "no PostgreSQL server binaries (Debian: postgresql)"
    if reason is not None:
        if IN_CI:
            pytest.fail(f"namespace hosts must run in CI: {reason}")
        pytest.skip(f"namespace hosts unavailable: {reason}")
    net = Network.create(HOSTS)
    try:
        yield net
    finally:
        net.close()


@pytest.fixture(scope="session")
def cluster(network: Network, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """store + web1, web2 + worker1-3 running, on seeded PostgreSQL."""
    procs = HostProcesses(network, tmp_path_factory.mktemp("hosts-logs"))
    with cluster_on(network, procs) as c:
        yield c
