"""Scenario 2: a worker host cut off mid-job; its jobs run elsewhere; healed, it rejoins."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from tests.hosts.cluster import (
    RESTORE_INTERVAL,
    VISIBILITY_TIMEOUT,
    Cluster,
    wait_for,
)

JOBS = 240
VICTIM = "worker2"
# The README's bound for a lost worker's job: visibility timeout + one restore scan,
# plus the 10 s its run deadline allows (queue wait behind the jobs still queued, the run).
BOUND = VISIBILITY_TIMEOUT + RESTORE_INTERVAL + 10


def test_cut_off_worker_jobs_run_elsewhere_once_and_it_rejoins(cluster: Cluster) -> None:
    # Given a few hundred jobs being worked on by all three workers
    jobs = cluster.submit_mix(JOBS)
    held = wait_for(lambda: cluster.holding(VICTIM) & set(jobs), 30, f"{VICTIM} holding a job")
    # When worker2's host is unplugged while it holds jobs
    cut_at = time.monotonic()
    cluster.net.cut(VICTIM)
    held = cluster.holding(VICTIM) & set(jobs)
    # Then each job it held is completed by another worker within the documented bound
    took = {}
    pending = set(held)
    while pending and time.monotonic() - cut_at < BOUND + 30:
        for job_id in list(pending):
            if cluster.status("web1", job_id).json()["status"] == "Complete":
                took[job_id] = time.monotonic() - cut_at
                pending.discard(job_id)
        time.sleep(0.1)
    assert not pending, f"{VICTIM}'s jobs {pending} not run elsewhere after {BOUND + 30}s"
    ran = cluster.ran_by()
    assert all(j not in ran[VICTIM] for j in held)
    print(
        f"\nscenario 2: {VICTIM} cut off holding {len(held)} jobs; run elsewhere after "
        f"{min(took.values()):.1f}-{max(took.values()):.1f}s (bound {BOUND}s)"
    )
    assert max(took.values()) < BOUND, took
    # And every job of the batch completes while it is cut off
    done = cluster.wait_all(jobs, timeout=120)
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
    done = cluster.wait_all(list(done), timeout=60)
    assert Counter(d["status"] for d in done.values()) == Counter({"Complete": len(done)})
    counts = cluster.completions()
    assert all(counts[j] >= 1 for j in done)
    twice = sorted(j for j in done if counts[j] > 1)
    late_log = cluster.procs.log(VICTIM)
    late_failed = sorted(j for j in held if re.search(rf"\[{j}\] raised", late_log))
    print(
        f"scenario 2: {len(done)} jobs, lost 0, completed twice {len(twice)}, late failures "
        f"of finished jobs {len(late_failed)}; {VICTIM} ran new jobs {rejoined:.1f}s after "
        "the heal"
    )
    if twice or late_failed:
        # Known server gap (issue 13 report): a run whose job was taken over is not fenced.
        # The cut-off worker's pool process sat in redis-py retries through the cut (and
        # its main loop, which enforces time limits, was blocked too); healed, it ran on,
        # mark_finished() rewrote the record and Celery logged (and sent) a second
        # success. The stored result stays the first one. Fix: mark_finished and the
        # step checkpoint refuse a run whose claim (attempt) is no longer current.
        pytest.xfail(
            f"late run of a taken-over job finished again: twice={twice} "
            f"late_failed={late_failed} (worker run not fenced by its claim)"
        )
