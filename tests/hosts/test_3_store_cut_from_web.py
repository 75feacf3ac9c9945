"""Scenario 3: the store host cut off from one web host only."""

from __future__ import annotations

import time

from tests.hosts.cluster import Cluster, assert_exactly_once, wait_for

CUT, OTHER = "web1", "web2"
FAST = 2.5  # API.md: 503 "within a couple of seconds, never a hang"


def test_web_cut_from_store_answers_503_fast_while_the_other_serves(cluster: Cluster) -> None:
    # Given a job accepted before the partition
    before = cluster.submit(CUT, "noop", {"steps": 1})
    cluster.wait_all([before], timeout=30)
    # When the store becomes unreachable from web1 (packets dropped both ways)
    cluster.net.block(CUT, "store")
    try:
        # Then web1 answers submissions and reads with 503 problem+json and Retry-After, fast
        timings = {"POST": [], "GET status": [], "GET readyz": []}
        for i in range(12):
            t0 = time.monotonic()
            if i % 3 == 0:
                resp = cluster.post(
                    CUT, "/api/reports", json={"reportType": "noop", "parameters": {}}
                )
                kind = "POST"
            elif i % 3 == 1:
                resp = cluster.status(CUT, before)
                kind = "GET status"
            else:
                resp = cluster.get(CUT, "/readyz")
                kind = "GET readyz"
            timings[kind].append(time.monotonic() - t0)
            assert resp.status_code == 503, (kind, resp.status_code, resp.text)
            if kind != "GET readyz":
                assert resp.headers["Content-Type"].startswith("application/problem+json")
                assert int(resp.headers["Retry-After"]) > 0
        worst = {k: max(v) for k, v in timings.items()}
        print(
            f"\nscenario 3: {CUT} cut from the store answers 503 in "
            + ", ".join(f"{k} {min(timings[k]):.2f}-{v:.2f}s" for k, v in worst.items())
        )
        assert max(worst["POST"], worst["GET status"]) < FAST, timings
        # And web2 serves meanwhile
        during = cluster.submit_mix(150, webs=[OTHER])
        done = cluster.wait_all(during, timeout=120, webs=[OTHER])
    finally:
        # When the partition heals
        cluster.net.unblock(CUT, "store")
    healed_at = time.monotonic()

    def accepts() -> bool:
        resp = cluster.post(CUT, "/api/reports", json={"reportType": "noop", "parameters": {}})
        return resp.status_code == 202

    wait_for(accepts, 30, f"{CUT} accepting after the heal")
    recovered = time.monotonic() - healed_at
    # Then both webs serve again, and every accepted job completes exactly once
    after = cluster.submit_mix(100)
    done |= cluster.wait_all(after, timeout=120)
    counts = assert_exactly_once(cluster, done)
    print(
        f"scenario 3: {CUT} accepting again {recovered:.1f}s after the heal; "
        f"{len(done)} jobs, lost 0, completed twice {sum(counts[j] > 1 for j in done)}"
    )
