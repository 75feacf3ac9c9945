"""worker.runtime: the body of every job's task, for any kind, against fakeredis.

The kind here is the test's own: it counts to `steps`, reporting each step, and fails at
`failAt` when asked to. No Celery worker runs: the task is a stand-in with what
run_job uses (its request, its result backend, its events).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from celery.exceptions import Ignore

from jobs.clients import WorkerClients
from jobs.failures import JobError
from jobs.kinds import JobKind, RunContext
from jobs.problems import INTERNAL_ERROR
from jobs.settings import Settings
from jobs.states import State
from jobs.status import build_status
from jobs.store import JobStore, Progress
from jobs.store.fairness import FairQueue
from jobs.store.keys import Keys
from jobs.store.runs import RunLedger
from jobs.store.webhooks import DeliveryStore, SecretStore
from jobs.store.workers import WorkerRegistry
from tests.unit.support import Submit
from worker import runtime

LABEL = "count:to"


class CountKind(JobKind):
    """Counts to `steps`, one step at a time."""

    name = "count"
    collection = "counts"
    title = "Counts"
    description = "Count."
    executor = f"{__name__}:count_to"
    progress_unit = "numbers"

    def types(self, settings: Settings) -> list[str]:
        return ["to"]

    def task_names(self) -> dict[str, str]:
        return {"to": "counts.to"}


KIND = CountKind()
ON_STEP: list[
    Callable[[int], object]
] = []  # callbacks a test runs after each step (e.g. its client cancels)


def count_to(ctx: RunContext, job_type: str, parameters: dict[str, Any]) -> dict[str, Any]:
    steps = int(parameters["steps"])
    for i in range(1, steps + 1):
        if parameters.get("failAt") == i:
            if parameters.get("unexpected"):
                raise ZeroDivisionError("a bug")
            raise JobError(f"Could not count past {i - 1}.")
        ctx.progress(i, steps)
        for callback in ON_STEP:
            callback(i)
    return {"counted": steps}


@dataclass
class StandInTask:
    """What run_job uses of a Celery task."""

    request: Any = field(default_factory=lambda: SimpleNamespace(hostname="w1@host", retries=0))
    events: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    app: Any = None  # the hand-over publishes through it (nothing is in a backlog here)

    def __post_init__(self) -> None:
        self.backend = SimpleNamespace(mark_as_revoked=self._mark_as_revoked)

    def _mark_as_revoked(self, job_id: str, reason: str, request: Any = None) -> None:
        self.revoked.append(job_id)

    def send_event(self, type_: str, **fields: Any) -> None:
        self.events.append(type_)


@pytest.fixture(autouse=True)
def worker_clients(
    ledger: RunLedger,
    registry: WorkerRegistry,
    store: JobStore,
    client: Any,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
) -> WorkerClients:
    """The worker runtime writes to the fake Redis."""
    clients = WorkerClients(
        ledger,
        registry,
        store,
        DeliveryStore(client, keys, 3600),
        SecretStore(client, keys, 60),
        FairQueue(client, keys, 3600, 7200, 2, 3600),
    )
    monkeypatch.setattr(runtime, "clients", lambda: clients)
    ON_STEP.clear()
    runtime.WITHOUT_WEBHOOK.clear()
    runtime.FOLLOWERS.clear()
    return clients


def run(
    job_id: str, parameters: dict[str, Any], task: StandInTask | None = None, kind: JobKind = KIND
) -> Any:
    return runtime.run_job(task or StandInTask(), kind, "to", job_id, parameters)  # type: ignore[arg-type]


def test_a_run_that_succeeds_records_all_its_work_and_its_run_time(
    store: JobStore, submit: Submit
) -> None:
    # Given a queued count job
    submit(kind="count", type="to", parameters={"steps": 4})
    # When a worker runs it
    result = run("job-1", {"steps": 4})
    # Then it returns its result and the record says finished, all of it done
    assert result == {"counted": 4}
    snap = store.read("job-1")
    assert snap is not None and snap.record.finished_at is not None
    assert snap.record.progress == Progress(4, 4, 100)
    assert snap.record.worker == "w1@host" and snap.record.attempts == 1
    # And its run time counts towards the estimates of its kind and type
    assert snap.mean_duration is not None and snap.mean_duration >= 0
    assert store.redis.hget(store.keys.stats(), LABEL) is not None


def test_a_failure_records_its_problem_and_the_progress_reached(
    store: JobStore, submit: Submit
) -> None:
    submit(kind="count", type="to")
    with pytest.raises(JobError):
        run("job-1", {"steps": 5, "failAt": 4})
    snap = store.read("job-1")
    assert snap is not None and snap.record.finished_at is not None
    assert snap.record.error is not None
    assert snap.record.error["detail"] == "Could not count past 3."
    assert snap.record.progress == Progress(3, 5, 60)
    # Failures do not count towards run-time estimates
    assert snap.mean_duration is None
    # And the status the client sees is Failed at 3 of 5
    doc = build_status(snap, KIND).document
    assert doc["status"] == "Failed"
    assert doc["progress"] == {"percent": 60, "current": 3, "total": 5, "unit": "numbers"}


def test_an_unexpected_error_is_an_internal_error_for_the_client(
    store: JobStore, submit: Submit
) -> None:
    submit(kind="count", type="to")
    with pytest.raises(ZeroDivisionError):
        run("job-1", {"steps": 5, "failAt": 2, "unexpected": True})
    snap = store.read("job-1")
    assert snap is not None and snap.record.error == INTERNAL_ERROR


def test_a_client_cancel_stops_the_run_at_its_next_step(store: JobStore, submit: Submit) -> None:
    # Given a running job whose client cancels it after step 2
    submit(kind="count", type="to")

    def cancel_after_step_two(step: int) -> None:
        if step == 2:
            store.request_cancel("job-1", queued=False)

    ON_STEP.append(cancel_after_step_two)
    task = StandInTask()
    # When it runs
    with pytest.raises(Ignore):
        run("job-1", {"steps": 10}, task)
    # Then it stopped at step 3's checkpoint: finished, revoked, announced as revoked
    assert task.revoked == ["job-1"] and task.events == ["task-revoked"]
    snap = store.read("job-1")
    assert snap is not None and snap.record.finished_at is not None
    assert snap.record.error is None
    assert snap.record.progress == Progress(2, 10, 20)


def test_a_delivery_of_a_finished_job_does_not_run_it_again(
    store: JobStore, submit: Submit, ledger: RunLedger
) -> None:
    # Given a job that already finished (redelivered after a crash before the ack)
    submit(kind="count", type="to")
    attempt = ledger.claim("job-1", "w0@host", 1e12).attempts
    ledger.finish("job-1", LABEL, 1.0, progress=Progress(3, 3, 100), attempt=attempt, result=3)
    ON_STEP.append(lambda i: pytest.fail("the job ran again"))
    # When the redelivery arrives
    with pytest.raises(Ignore):
        run("job-1", {"steps": 3})
    # Then nothing changed
    snap = store.read("job-1")
    assert snap is not None and snap.record.attempts == 1 and snap.record.worker == "w0@host"


def test_a_delivery_of_a_job_whose_record_is_gone_ends_it_as_expired(submit: Submit) -> None:
    task = StandInTask()
    with pytest.raises(Ignore):
        run("never-submitted", {"steps": 3}, task)
    assert task.events == ["task-revoked"] and task.revoked == []


def test_a_job_whose_workers_keep_dying_fails_instead_of_running_forever(
    store: JobStore, submit: Submit, ledger: RunLedger
) -> None:
    # Given a job started as many times as deliveries are allowed, its worker dying each time
    submit(kind="count", type="to")
    for _ in range(runtime.SETTINGS.task_max_deliveries):
        ledger.claim("job-1", "w0@host", 1e12)
    # When it is delivered once more
    with pytest.raises(JobError):
        run("job-1", {"steps": 3})
    # Then it fails as lost, without running
    snap = store.read("job-1")
    assert snap is not None and snap.record.error is not None
    assert snap.record.error["type"].endswith("worker-lost") and snap.record.progress is None
    assert build_status(snap, KIND).state is State.FAILED


@pytest.mark.parametrize(
    ("current", "total", "percent", "recorded"),
    [
        (1, 3, None, Progress(1, 3, 33)),
        (5, None, None, Progress(5, None, 0)),
        (7, 10, 150, Progress(7, 10, 100)),  # a kind's own percent is kept within 0-100
        (7, 10, -5, Progress(7, 10, 0)),
    ],
)
def test_a_step_records_the_progress_and_its_percent(
    store: JobStore,
    submit: Submit,
    current: int,
    total: int | None,
    percent: int | None,
    recorded: Progress,
) -> None:
    submit(kind="count", type="to")
    runtime.JobContext("job-1", runtime.SETTINGS).progress(current, total, percent)
    snap = store.read("job-1")
    assert snap is not None and snap.record.progress == recorded


def test_a_step_the_store_cannot_record_does_not_fail_the_job(
    worker_clients: WorkerClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs.errors import StoreUnavailable

    def unavailable(*args: Any) -> bool:
        raise StoreUnavailable("Redis restarting")

    monkeypatch.setattr(worker_clients.ledger, "step", unavailable)
    ctx = runtime.JobContext("job-1", runtime.SETTINGS)
    ctx.progress(1, 2)  # no exception: progress is a courtesy
    assert ctx.last == Progress(1, 2, 50)


def test_the_final_progress_of_a_completed_job_is_all_of_it() -> None:
    ctx = runtime.JobContext("job-1", runtime.SETTINGS)
    assert ctx.final_progress() == Progress(0, 0, 100)
    ctx.last = Progress(40, None, 10)
    assert ctx.final_progress() == Progress(40, 40, 100)
    ctx.completed(1234)  # a kind says how much it did in all
    assert ctx.final_progress() == Progress(1234, 1234, 100)


def test_a_job_with_a_webhook_still_records_its_started_event(
    store: JobStore, submit: Submit, worker_clients: WorkerClients
) -> None:
    # Given a job whose client asked for its `started` event
    hook = {"url": "https://example.com/hook", "events": ["started", "completed"]}
    submit(kind="count", type="to", parameters={"steps": 1}, webhook=hook)
    # When a worker runs it
    run("job-1", {"steps": 1})
    # Then the claim handed over the webhook and the started delivery was recorded
    assert "job-1" not in runtime.WITHOUT_WEBHOOK
    logged = worker_clients.deliveries.of_job("job-1")
    assert [d.event for d in logged] == ["job.started"]
