"""OwnerIndex: a client's jobs of one kind, paged newest first by app.services.listing."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import fakeredis

from app.http import cursor
from app.services.backend import Backend
from app.services.listing import list_jobs
from jobs.registry import Kinds
from jobs.store import Keys
from jobs.store.index import OwnerIndex
from tests.unit.support import Submit


def make(submit: Submit, created: float, owner: str = "alice", **fields: str) -> str:
    """Submit a job with a fresh UUID (what cursors carry); its id."""
    job_id = str(uuid.uuid4())
    submit(job_id, created=created, owner=owner, **fields)
    return job_id


def test_pages_run_newest_first_without_gaps_or_repeats(
    backend: Backend, kinds: Kinds, submit: Submit
) -> None:
    # Given seven jobs of alice's, two of them created at the same instant, and bob's
    now = time.time()
    ids = [make(submit, now + i) for i in range(6)] + [make(submit, now + 5)]
    make(submit, now + 10, owner="bob")
    # When alice pages through her reports with limit 3
    seen: list[str] = []
    after = None
    for _ in range(5):
        page = list_jobs(backend, kinds["report"], "alice", 3, after=after)
        seen += [d["id"] for d in page.items]
        after = page.next
        if after is None:
            break
    # Then she sees each of her jobs once, newest first, and nobody else's
    assert sorted(seen) == sorted(ids) and len(seen) == len(ids)
    snaps = backend.jobs.read_many(seen)
    created = [s.record.created_at for s in snaps if s is not None]
    assert len(created) == len(seen) and created == sorted(created, reverse=True)


def test_a_page_lists_only_the_kind_asked_for(
    backend: Backend, kinds: Kinds, submit: Submit
) -> None:
    # Given a report and an import of alice's
    now = time.time()
    report = make(submit, now)
    upload = make(submit, now + 1, kind="import", type="sales-csv")
    # Then each collection lists its own, documented as that kind
    [rep] = list_jobs(backend, kinds["report"], "alice", 10).items
    [imp] = list_jobs(backend, kinds["import"], "alice", 10).items
    assert (rep["id"], rep["kind"]) == (report, "report")
    assert (imp["id"], imp["kind"]) == (upload, "import")


def test_filters_and_pruning_of_expired_ids(
    backend: Backend, kinds: Kinds, submit: Submit, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given two yearly-sales reports, one of which expired, and a report of another type
    now = time.time()
    keep = make(submit, now + 1)
    gone = make(submit, now + 2)
    make(submit, now + 3, type="monthly-sales")
    client.delete(keys.job(gone))
    # When alice lists her yearly-sales reports
    page = list_jobs(backend, kinds["report"], "alice", 10, job_type="yearly-sales")
    # Then only the live one is listed, the last page, and the expired id is pruned
    assert [d["id"] for d in page.items] == [keep] and page.next is None
    assert client.zscore(keys.owner_jobs("alice", "report"), gone) is None
    # And a status filter keeps only jobs in that status
    assert list_jobs(backend, kinds["report"], "alice", 10, status="Complete").items == []
    assert len(list_jobs(backend, kinds["report"], "alice", 10, status="In Progress").items) == 2


def test_a_cursor_resumes_after_its_position(
    backend: Backend, kinds: Kinds, submit: Submit
) -> None:
    now = time.time()
    first, second = make(submit, now + 1), make(submit, now + 2)
    page = list_jobs(backend, kinds["report"], "alice", 1)
    assert [d["id"] for d in page.items] == [second]
    assert page.next is not None and cursor.decode(page.next) == (now + 2, second)
    rest = list_jobs(backend, kinds["report"], "alice", 1, after=page.next)
    assert [d["id"] for d in rest.items] == [first] and rest.next is None


def test_a_job_that_never_started_in_time_is_listed_as_failed(
    backend: Backend, kinds: Kinds, submit: Submit
) -> None:
    # Given a job queued two hours ago whose message was lost, and a 60 s queue timeout
    backend = replace(backend, settings=replace(backend.settings, job_queue_timeout=60))
    job_id = make(submit, time.time() - 7200)
    # When the owner lists their jobs
    page = list_jobs(backend, kinds["report"], "alice", 10)
    # Then the job is listed as Failed, as its status would say, not In Progress forever
    [doc] = page.items
    assert doc["id"] == job_id
    assert doc["status"] == "Failed" and doc["error"]["type"].endswith("not-started")


def test_the_index_pages_by_creation_time_then_id(index: OwnerIndex, submit: Submit) -> None:
    # Given three jobs, two created at the same instant
    submit("a", created=1.0)
    submit("b", created=2.0)
    submit("c", created=2.0)
    # Then pages run newest first, ties by id descending, strictly after the position
    assert index.page("alice", "report", None, 2) == [("c", 2.0), ("b", 2.0)]
    assert index.page("alice", "report", (2.0, "c"), 5) == [("b", 2.0), ("a", 1.0)]
    assert index.page("alice", "report", (2.0, "b"), 5) == [("a", 1.0)]
    assert index.page("alice", "import", None, 5) == []
    # And pruned ids are gone from it
    index.prune("alice", "report", ["b"])
    assert index.page("alice", "report", None, 5) == [("c", 2.0), ("a", 1.0)]
