"""Scenario 1: jobs submitted to both web hosts, run by all three worker hosts."""

from __future__ import annotations

import time
from typing import Any

from tests.hosts.cluster import WORKERS, Cluster, assert_exactly_once, wait_for

JOBS = 300


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """A downloaded result without the one field that differs between runs."""
    return {k: v for k, v in result.items() if k != "generatedAt"}


def test_jobs_from_both_webs_run_on_every_worker_with_single_host_results(
    cluster: Cluster,
) -> None:
    # Given two web hosts and three worker hosts on one store host
    started = time.monotonic()
    # When a few hundred mixed jobs are submitted round-robin to both webs
    jobs = cluster.submit_mix(JOBS)
    done = cluster.wait_all(jobs, timeout=180)
    elapsed = time.monotonic() - started
    # Then every job completes exactly once, and every worker host ran some of them
    counts = assert_exactly_once(cluster, done)
    ran = cluster.ran_by()
    per_worker = {w: len(ran[w] & set(jobs)) for w in WORKERS}
    print(
        f"\nscenario 1: {len(jobs)} jobs in {elapsed:.1f}s, per worker {per_worker}, "
        f"lost 0, completed twice {sum(c > 1 for c in counts.values())}"
    )
    assert all(per_worker.values()), per_worker
    # And each report's result, downloaded from the web that did not accept it, equals
    # the result of the same request on a single host (web and worker on one namespace)
    env = cluster.app_env(REDIS_URL=cluster.redis_url.rsplit("/", 1)[0] + "/1")
    cluster.procs.start_procfile("solo-web", "solo", "web", {**env, "PORT": "8000"})
    cluster.procs.start_procfile("solo-worker", "solo", "worker", env)
    wait_for(
        lambda: " ready." in cluster.procs.log("solo-worker"),
        60,
        "solo worker",
        cluster.procs.procs["solo-worker"],
    )
    reference: dict[str, dict[str, Any]] = {}
    compared = 0
    for job_id, web in jobs.items():
        doc = done[job_id]
        key = repr((doc["reportType"], sorted(doc["parameters"].items())))
        other = "web2" if web == "web1" else "web1"
        result = cluster.download(other, job_id)
        if key not in reference:
            solo_id = cluster.submit("solo", doc["reportType"], doc["parameters"])
            cluster.wait_all([solo_id], timeout=60, webs=["solo"])
            reference[key] = comparable(cluster.download("solo", solo_id))
        assert comparable(result) == reference[key], (job_id, doc["parameters"])
        compared += 1
    print(
        f"scenario 1: {compared} downloads equal to the single host's "
        f"({len(reference)} distinct requests)"
    )
