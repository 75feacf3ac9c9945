"""Results already computed, through the real processes (gunicorn, Celery, Redis, SQLite):
kept results answer in the 202 itself, identical running jobs are shared, no-cache
computes, imports and plain-SQL inserts change the version, followers get an outcome."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import sqlalchemy

from devstack.stack import Stack
from tests.conftest import seeded_database
from tests.integration.imports import csv_text, post_import, rows_in, wait_done, year_range
from tests.integration.stacks import extra_stack

pytestmark = pytest.mark.integration

ALICE = {"Authorization": "Bearer alice-key"}
BOB = {"Authorization": "Bearer bob-key"}
OPS = {"Authorization": "Bearer ops-key"}
FINGERPRINT_SECONDS = 1.0
ENV = {
    "API_KEYS": "alice:alice-key,bob:bob-key",
    "ADMIN_API_KEYS": "ops:ops-key",
    "ENABLE_DIAGNOSTIC_REPORTS": "1",
    "DATA_FINGERPRINT_SECONDS": str(FINGERPRINT_SECONDS),
}


@dataclass
class ReuseStack:
    """A stack with a sales database of this module's own (it imports and inserts rows)."""

    stack: Stack
    database_url: str

    @property
    def postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def base(self) -> str:
        return self.stack.base_url

    def submit(
        self, body: dict[str, Any], who: dict[str, str] = ALICE, **headers: str
    ) -> requests.Response:
        sent = {**who, **{k.replace("_", "-"): v for k, v in headers.items()}}
        resp = requests.post(f"{self.base}/api/reports", json=body, headers=sent, timeout=30)
        assert resp.status_code in (200, 202), resp.text
        return resp

    def finished(self, resp: requests.Response, who: dict[str, str] = ALICE) -> dict[str, Any]:
        return wait_done(self.base, resp.headers["Location"], who, timeout=120)

    def download(self, doc: dict[str, Any], who: dict[str, str] = ALICE) -> dict[str, Any]:
        resp = requests.get(self.base + doc["reportURL"], headers=who, timeout=30)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def reuse_counts(self) -> dict[str, float]:
        text = requests.get(f"{self.base}/metrics", headers=OPS, timeout=10).text
        found = re.findall(
            r'async_reports_reuse_total\{kind="report",outcome="(\w+)"\} (\S+)', text
        )
        return {outcome: float(n) for outcome, n in found}

    def computations(self, job_ids: list[str]) -> int:
        log = self.stack.log("worker0")
        return sum(log.count(f"[{job_id}] received") for job_id in job_ids)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def reuse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[ReuseStack]:
    """One stack at a time, on Redis database 10, over each dialect's sales database."""
    tmp = tmp_path_factory.mktemp(f"reuse-{request.param}")
    with (
        seeded_database(request.param, tmp) as url,
        extra_stack(tmp / "stack", redis_url, 10, url, ENV) as stack,
    ):
        yield ReuseStack(stack, url)


@pytest.fixture(scope="module")
def long_fingerprint(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[ReuseStack]:
    """A stack that trusts a version read from the database for an hour: only the import's
    own signal can make it stale."""
    tmp = tmp_path_factory.mktemp("reuse-long")
    env = {**ENV, "DATA_FINGERPRINT_SECONDS": "3600"}
    with (
        seeded_database("sqlite", tmp) as url,
        extra_stack(tmp / "stack", redis_url, 12, url, env) as stack,
    ):
        yield ReuseStack(stack, url)


def yearly(year: Any) -> dict[str, Any]:
    return {"reportType": "yearly-sales", "parameters": {"year": year}}


def noop(**parameters: Any) -> dict[str, Any]:
    """A slow diagnostic report that asks to be shared like a real one."""
    return {"reportType": "noop", "parameters": {**parameters, "reuse": True}}


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


def test_an_import_changes_the_version_and_the_next_reports_compute_anew(
    long_fingerprint: ReuseStack,
) -> None:
    reuse = long_fingerprint
    # Given reports of 2031 (no rows yet) and 2020, computed and kept
    empty = reuse.finished(reuse.submit(yearly(2031)))
    assert reuse.download(empty)["summary"]["orders"] == 0
    reuse.finished(reuse.submit(yearly(2020)))
    assert reuse.submit(yearly(2031)).json()["cached"] is True
    before = requests.get(f"{reuse.base}/api/data", headers=ALICE, timeout=10).json()["version"]
    # When an import adds 40 rows sold in 2031
    imported = post_import(reuse.base, csv_text(rows_in(2031, 40)), ALICE)
    assert imported.status_code == 202, imported.text
    assert wait_done(reuse.base, imported.headers["Location"], ALICE)["status"] == "Complete"
    # Then the version changed, the next 2031 report is computed and includes the rows
    after = requests.get(f"{reuse.base}/api/data", headers=ALICE, timeout=10).json()["version"]
    assert after != before
    resp = reuse.submit(yearly(2031))
    assert "cached" not in resp.json()
    assert reuse.download(reuse.finished(resp))["summary"]["orders"] == 40
    # And a 2020 report is computed anew too (the version is global)
    assert "cached" not in reuse.submit(yearly(2020)).json()


def insert_rows(database_url: str, year: int, count: int) -> None:
    engine = sqlalchemy.create_engine(database_url)
    with engine.begin() as conn:
        for i in range(count):
            conn.exec_driver_sql(
                "INSERT INTO sales (sold_at, region, product, category, customer_id, quantity,"
                f" unit_price) VALUES ('{year}-03-0{i % 9 + 1} 10:00:00.000000', 'North',"
                " 'Widget', 'Tools', 1, 2, 3.50)"
            )
    engine.dispose()


def test_rows_inserted_with_plain_sql_are_noticed_within_the_fingerprint_interval(
    reuse: ReuseStack,
) -> None:
    # Given a report of 2032 (no rows), computed and kept
    first = reuse.finished(reuse.submit(yearly(2032)))
    assert reuse.download(first)["summary"]["orders"] == 0
    assert reuse.submit(yearly(2032)).json()["cached"] is True
    # When someone inserts three rows of 2032 with plain SQL, bypassing the service
    insert_rows(reuse.database_url, 2032, 3)
    # Then once the cached version is older than DATA_FINGERPRINT_SECONDS, the next
    # 2032 report is computed and includes them
    time.sleep(2 * FINGERPRINT_SECONDS + 1.0)  # the cached version is gone
    resp = reuse.submit(yearly(2032))
    assert "cached" not in resp.json()
    assert reuse.download(reuse.finished(resp))["summary"]["orders"] == 3


def test_an_update_with_plain_sql_is_noticed_on_postgresql_only(reuse: ReuseStack) -> None:
    # Given a report of 2033 with two rows, computed and kept
    insert_rows(reuse.database_url, 2033, 2)
    time.sleep(2 * FINGERPRINT_SECONDS + 1.0)  # the cached version is gone
    first = reuse.finished(reuse.submit(yearly(2033)))
    assert reuse.download(first)["summary"]["units"] == 4
    # When their quantities are changed with a plain UPDATE (count and largest id unchanged)
    engine = sqlalchemy.create_engine(reuse.database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE sales SET quantity = 9 WHERE {year_range(2033)}")
    engine.dispose()  # the session ends: PostgreSQL has its statistics now
    time.sleep(2 * FINGERPRINT_SECONDS + 1.0)  # the cached version is gone
    # Then, as the README says: PostgreSQL's change counters notice it, and the report is
    # computed anew; SQLite's fingerprint does not (bump data_version, or no-cache)
    again = reuse.submit(yearly(2033))
    if reuse.postgres:
        assert "cached" not in again.json()
        assert reuse.download(reuse.finished(again))["summary"]["units"] == 18
    else:
        assert again.json()["cached"] is True
        fresh = reuse.finished(reuse.submit(yearly(2033), Cache_Control="no-cache"))
        assert reuse.download(fresh)["summary"]["units"] == 18


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
