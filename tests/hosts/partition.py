"""A worker host cut off mid-job: its jobs run elsewhere in time, once; healed, it rejoins."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.hosts.cluster import TERMINAL, VISIBILITY_TIMEOUT, WORKERS, Cluster, wait_for

JOBS = 240
VICTIM = "worker2"


def run_elsewhere(
    cluster: Cluster, held: set[str], cut_at: float, bound: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds from the cut until each held job was delivered to another worker, and until
    it was Complete (for those that were within `bound`)."""
    delivered: dict[str, float] = {}
    took: dict[str, float] = {}
    others = [w for w in WORKERS if w != VICTIM]
    while (set(held) - set(took)) and time.monotonic() - cut_at < bound:
        logs = "".join(cluster.procs.log(w) for w in others)
        for job_id in held - set(delivered):
            if f"[{job_id}] received" in logs:
                delivered[job_id] = time.monotonic() - cut_at
        for job_id in held - set(took):
            if cluster.status("web1", job_id).json()["status"] == "Complete":
                took[job_id] = time.monotonic() - cut_at
        time.sleep(0.1)
    return delivered, took


def wait_or_lost_in_flight(
    cluster: Cluster, job_ids: set[str], timeout: float, redis_broker: bool
) -> dict[str, dict[str, Any]]:
    """Every job's terminal document; on the Redis broker, jobs that no worker ever
    received when the wait runs out are the README's known gap (kombu's Redis transport
    pops a message before the worker records it, so one in flight across the cut is
    lost): the test is marked xfail with their ids, and fails on anything else."""
    try:
        return cluster.wait_all(job_ids, timeout=timeout)
    except AssertionError:
        if not redis_broker:
            raise
        logs = "".join(cluster.procs.log(w) for w in WORKERS)
        pending = {j for j in job_ids if cluster.status("web1", j).json()["status"] not in TERMINAL}
        never = {j for j in pending if f"[{j}] received" not in logs}
        if pending and never == pending:
            pytest.xfail(
                f"known gap (README, Redis broker): {len(never)} message(s) lost in flight "
                f"across the cut, never received by any worker: {sorted(never)}"
            )
        raise


def cut_worker_off(cluster: Cluster, bound: float, name: str, redis_broker: bool = False) -> float:
    """Run the scenario with `bound` seconds for the jobs to run elsewhere; the worst time."""
    # Given a few hundred jobs being worked on by all three workers
    jobs = cluster.submit_mix(JOBS)
    wait_for(lambda: cluster.holding(VICTIM) & set(jobs), 30, f"{VICTIM} holding a job")
    # When worker2's host is unplugged while it holds jobs
    cut_at = time.monotonic()
    cluster.net.cut(VICTIM)
    try:
        held = cluster.holding(VICTIM) & set(jobs)
        # Then each job it held is completed by another worker within the documented bound
        delivered, took = run_elsewhere(cluster, held, cut_at, bound)
        stuck = held - set(took)
        times = sorted(took.values())
        print(
            f"\n{name}: {VICTIM} cut off holding {len(held)} jobs; handed to another worker "
            f"after {', '.join(f'{t:.1f}' for t in sorted(delivered.values()))}s, Complete "
            f"there after {', '.join(f'{t:.1f}' for t in times)}s (bound {bound}s); "
            f"{len(stuck)} not run there"
        )
        assert set(delivered) == held, f"not handed over within {bound}s: {held - set(delivered)}"
        ran = cluster.ran_by()
        assert all(j not in ran[VICTIM] for j in took)
        # And every other job of the batch completes while it is cut off
        done = wait_or_lost_in_flight(cluster, set(jobs) - stuck, 120, redis_broker)
    finally:
        # When the link comes back
        cluster.net.heal(VICTIM)
    healed_at = time.monotonic()
    # Then the worker rejoins: it runs new jobs again
    later: dict[str, str] = {}
    while not (cluster.ran_by()[VICTIM] & set(later)):
        assert time.monotonic() - healed_at < 90, cluster.procs.log(VICTIM)[-3000:]
        later |= cluster.submit_mix(12)
        time.sleep(1)
    rejoined = time.monotonic() - healed_at
    later |= cluster.submit_mix(48)
    done |= cluster.wait_all(later, timeout=120)
    # And its late results complete nothing twice: every job is still Complete, once
    time.sleep(VISIBILITY_TIMEOUT)  # room for late writes, acks and restores to land
    done = cluster.wait_all(set(done) | stuck, timeout=90)
    wrong = {
        j: (d["status"], (d.get("error") or {}).get("title"))
        for j, d in done.items()
        if d["status"] != "Complete"
    }
    counts = cluster.completions()
    assert all(counts[j] >= 1 for j in set(done) - stuck)
    twice = sorted(j for j in done if counts[j] > 1)
    late_log = cluster.procs.log(VICTIM)
    # A held run blocked by the cut may hit the soft time limit there: Celery logs it
    # raised, but the failure it tries to store never replaces the success written
    # elsewhere (store_result.lua), so the job stays Complete (`wrong` checks that).
    # Any other late raise of a held job fails the scenario.
    raised = {j for j in held if re.search(rf"\[{j}\] raised", late_log)}
    timed_out = {
        j
        for j in raised
        if re.search(rf"\[{j}\] raised unexpected: SoftTimeLimitExceeded", late_log)
    }
    late_failed = sorted(raised - timed_out)
    print(
        f"{name}: {len(done)} jobs, lost 0, completed twice {len(twice)}, late failures of "
        f"finished jobs {len(late_failed)} (soft time limits hit while cut off, not stored: "
        f"{len(timed_out)}), not run elsewhere {len(stuck)} ({len(wrong)} of them "
        f"not Complete: {sorted(set(wrong.values()))}); "
        f"{VICTIM} ran new jobs {rejoined:.1f}s after the heal"
    )
    # A run is fenced by its claim (jobs/store/scripts/progress.lua, finish.lua): the
    # cut-off worker's late run is dropped, writing nothing, and never completes or fails
    # a job that ran elsewhere; a record never says finished without its result.
    assert not wrong, wrong
    assert not twice, f"completed twice: {twice}"
    assert not late_failed, f"late failures of jobs that ran elsewhere: {late_failed}"
    assert not stuck, f"not run elsewhere within {bound}s: {sorted(stuck)}"
    assert times[-1] < bound, took
    return max(delivered.values())
