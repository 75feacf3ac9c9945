"""Scenario 2: a worker host cut off mid-job; its jobs run elsewhere; healed, it rejoins."""

from __future__ import annotations

from tests.hosts.cluster import RESTORE_INTERVAL, VISIBILITY_TIMEOUT, Cluster
from tests.hosts.partition import cut_worker_off

# The README's bound for a lost worker's job: visibility timeout + one restore scan,
# plus the 10 s its run deadline allows (queue wait behind the jobs still queued, the run).
BOUND = VISIBILITY_TIMEOUT + RESTORE_INTERVAL + 10


def test_cut_off_worker_jobs_run_elsewhere_once_and_it_rejoins(cluster: Cluster) -> None:
    cut_worker_off(cluster, BOUND, "scenario 2 (Redis broker)", redis_broker=True)
