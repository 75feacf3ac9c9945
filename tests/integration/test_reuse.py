"""Results already computed, through the real processes (gunicorn, Celery, Redis, SQLite):
kept results answer in the 202 itself, identical running jobs are shared, no-cache
computes, followers get an outcome, imports and the diagnostic noop are not reused.
(Data versions: test_reuse_versions.py; the `reuse` stack: tests/integration/conftest.py.)"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.integration.imports import csv_text, post_import, rows_in, wait_done
from tests.integration.reuse import (
    ALICE,
    BOB,
    ReuseStack,
    noop,
    yearly,
)

pytestmark = pytest.mark.integration


def test_a_second_identical_report_is_complete_in_the_202_itself(reuse: ReuseStack) -> None:
    # Given alice's yearly report, computed
    first = reuse.finished(reuse.submit(yearly(2022)))
    assert first["status"] == "Complete" and "cached" not in first
    # When bob asks for the same year, written as text
    resp = reuse.submit(yearly("2022"), BOB)
    doc = resp.json()
    # Then the 202 itself says Complete: a job of bob's own, cached, computed when alice's was
    assert resp.status_code == 202
    assert doc["status"] == "Complete" and doc["state"] == "succeeded"
    assert doc["cached"] is True and doc["computedAt"] >= first["startedAt"]
    assert doc["id"] != first["id"] and doc["reportURL"].endswith(f"{doc['id']}/download")
    # And its figures are alice's figures
    assert reuse.download(doc, BOB) == reuse.download(first)
    # And it is bob's: alice cannot see it
    other = requests.get(f"{reuse.base}/api/reports/{doc['id']}/status", headers=ALICE, timeout=10)
    assert other.status_code == 404
    assert reuse.computations([first["id"], doc["id"]]) == 1


def test_forgetting_the_original_does_not_break_the_reused_job(reuse: ReuseStack) -> None:
    # Given alice's computed report and bob's job answered from it
    first = reuse.finished(reuse.submit(yearly(2021)))
    bobs = reuse.submit(yearly(2021), BOB).json()
    assert bobs["cached"] is True
    # When alice forgets hers
    gone = requests.delete(f"{reuse.base}/api/reports/{first['id']}", headers=ALICE, timeout=10)
    assert gone.status_code == 204
    # Then bob's job still has its status and its report
    status = requests.get(f"{reuse.base}/api/reports/{bobs['id']}/status", headers=BOB, timeout=10)
    assert status.status_code == 200 and status.json()["status"] == "Complete"
    assert reuse.download(bobs, BOB)["summary"]["year"] == 2021
    # And the kept result still answers the next identical request
    assert reuse.submit(yearly(2021)).json()["cached"] is True


def test_ten_concurrent_identical_submits_run_one_computation(reuse: ReuseStack) -> None:
    # Given the reuse counters before
    before = reuse.reuse_counts()
    body = noop(steps=4, stepSeconds=0.5)
    # When ten clients submit the same slow report at once
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda i: reuse.submit(body, BOB if i % 2 else ALICE), range(10)))
    docs = [reuse.finished(r, BOB if i % 2 else ALICE) for i, r in enumerate(responses)]
    # Then all ten are Complete, ten jobs with one result, computed once (worker log)
    assert all(d["status"] == "Complete" for d in docs)
    assert len({d["id"] for d in docs}) == 10
    assert sum(1 for d in docs if d.get("cached")) == 9
    assert reuse.computations([d["id"] for d in docs]) == 1
    # And the metrics count one miss and nine reuses
    after = reuse.reuse_counts()
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in ("hit", "shared", "miss")}
    assert delta["miss"] == 1 and delta["hit"] + delta["shared"] == 9
    assert delta["shared"] >= 1


def test_no_cache_computes_again(reuse: ReuseStack) -> None:
    # Given a report already computed
    first = reuse.finished(reuse.submit(yearly(2023)))
    assert reuse.submit(yearly(2023)).json()["cached"] is True
    # When it is asked for with Cache-Control: no-cache
    resp = reuse.submit(yearly(2023), Cache_Control="no-cache")
    # Then a new job computes it
    doc = reuse.finished(resp)
    assert doc["status"] == "Complete" and "cached" not in doc
    assert reuse.computations([first["id"], doc["id"]]) == 2
    # And its result is the one kept from now on
    again = reuse.submit(yearly(2023)).json()
    assert again["cached"] is True and again["computedAt"] >= doc["startedAt"]


def test_followers_of_a_failing_job_fail_with_its_error(reuse: ReuseStack) -> None:
    # Given a slow report that fails, and an identical request while it runs
    body = noop(steps=4, stepSeconds=0.4, failAtStep=3)
    leader = reuse.submit(body)
    follower = reuse.submit(body, BOB)
    assert follower.json()["cached"] is True and follower.json()["status"] == "In Progress"
    # When the first fails
    failed = reuse.finished(leader)
    # Then the follower fails too, with the same error, and never ran
    followed = reuse.finished(follower, BOB)
    assert failed["status"] == followed["status"] == "Failed"
    assert followed["error"] == failed["error"]
    assert reuse.computations([failed["id"], followed["id"]]) == 1


def test_a_follower_computes_when_its_leader_is_cancelled_by_its_owner(
    reuse: ReuseStack,
) -> None:
    # Given a slow report and bob's identical request following it
    body = noop(steps=10, stepSeconds=0.3)
    leader = reuse.submit(body)
    follower = reuse.submit(body, BOB)
    assert follower.json()["cached"] is True
    # When alice cancels hers
    cancel = requests.delete(
        f"{reuse.base}/api/reports/{leader.json()['id']}", headers=ALICE, timeout=10
    )
    assert cancel.status_code == 202
    # Then hers ends Cancelled, and bob's is computed for him and completes
    assert reuse.finished(leader)["status"] == "Cancelled"
    done = reuse.finished(follower, BOB)
    assert done["status"] == "Complete" and "cached" not in done
    assert reuse.download(done, BOB)["summary"]["steps"] == 10


def test_imports_are_never_reused(reuse: ReuseStack) -> None:
    # Given one file imported
    body = csv_text(rows_in(2040, 5))
    first = post_import(reuse.base, body, ALICE)
    assert wait_done(reuse.base, first.headers["Location"], ALICE)["status"] == "Complete"
    # When the same file is imported again
    second = post_import(reuse.base, body, ALICE)
    # Then it is a new import that runs (and adds its rows again)
    doc = wait_done(reuse.base, second.headers["Location"], ALICE)
    assert "cached" not in doc and doc["result"]["rowsImported"] == 5


def test_the_diagnostic_noop_runs_every_time_unless_it_asks_to_be_shared(
    reuse: ReuseStack,
) -> None:
    # Given a noop report computed (the diagnostic type exists to run)
    body = {"reportType": "noop", "parameters": {"steps": 3}}
    first = reuse.finished(reuse.submit(body))
    # When the identical request comes
    second = reuse.finished(reuse.submit(body))
    # Then it runs again
    assert "cached" not in second
    assert reuse.computations([first["id"], second["id"]]) == 2
