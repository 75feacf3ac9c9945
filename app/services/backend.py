"""The web side's access to jobs: its clients, and reads that settle overdue jobs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flask import Flask, current_app

from jobs.clients import WebClients
from jobs.deadlines import overdue_problem
from jobs.kinds import JobKind
from jobs.problems import INTERNAL_ERROR, NOT_STARTED
from jobs.settings import Settings
from jobs.states import State
from jobs.status import job_state
from jobs.store.record import JobSnapshot, Progress
from jobs.webhooks.events import emit
from sales.db import engine_for

log = logging.getLogger(__name__)


@dataclass
class KindServices:
    """What a kind's web half may use (jobs.kinds.KindContext): settings, sales database."""

    settings: Settings

    def engine(self) -> Any:
        """The sales database's engine (created on first use, one per process)."""
        return engine_for(self.settings.database_url)


class Backend(WebClients):
    """The web's clients plus the reads every view needs."""

    @cached_property
    def kind_services(self) -> KindServices:
        """Handed to kinds' request handlers and renderers."""
        return KindServices(self.settings)

    def kind_of(self, snap: JobSnapshot) -> JobKind:
        """The kind of a job that was read."""
        return self.kinds[snap.record.kind]

    def read(self, job_id: str) -> JobSnapshot | None:
        """Read a job; one past its deadline is moved to Failed first (see jobs.deadlines)."""
        snap = self.jobs.read(job_id)
        return None if snap is None else self.settle(snap)

    def settled(self, snap: JobSnapshot) -> bool:
        """True when `settle` would pass this snapshot unchanged (it needs no write)."""
        rec = snap.record
        if rec.follows and rec.finished_at is None:
            return False
        return overdue_problem(snap, self.settings, snap.read_at) is None

    def settle(self, snap: JobSnapshot) -> JobSnapshot | None:
        """Move a job past its deadline to Failed and re-read it; others pass unchanged."""
        if self.settled(snap):
            return snap
        problem = overdue_problem(snap, self.settings, snap.read_at)
        if problem is None:  # a follower whose leader may have ended
            return self.settle_follower(snap)
        if self.jobs.fail_overdue(snap.record, problem):
            log.warning("job %s missed its deadline: %s", snap.record.id, problem["title"])
            followers = self.shares.followers_of(snap.record.id)
            self.shares.failed(snap.record.id, problem)  # its followers fail with it
            latest = self.jobs.read(snap.record.id)
            self.announce_end([snap.record.id, *followers], self.kind_of(snap))
            return latest
        return self.jobs.read(snap.record.id)

    def announce_end(self, job_ids: list[str], kind: JobKind) -> None:
        """Record the `completed` webhooks of jobs that just ended here (if they asked)."""
        for job_id in job_ids:
            emit(self.deliveries, self.jobs.read(job_id), kind, "completed")

    def settle_follower(self, snap: JobSnapshot) -> JobSnapshot | None:
        """A follower whose leader ended without passing on its outcome gets it now.

        The worker passes it on as the leader ends; this covers a leader failed by the
        deadline check, a hand-over that failed on a Redis error, or a leader whose
        enqueue failed after the follower attached to it (it was never run).
        """
        follows = snap.record.follows or ""
        followers = self.shares.followers_of(follows) if follows else []
        leader = self.jobs.read(follows)
        if leader is not None:
            leader = self.settle(leader)
        elif follows and self.jobs.being_created(follows):
            # The leader's own submit is still enqueueing it (its record is provisional
            # until then): wait for it, as for a running leader. A leader whose enqueue
            # fails is discarded, or expires, and is lost then.
            return snap
        if leader is None:
            problem = {
                **NOT_STARTED,
                "detail": "The identical job this one was to share a result with was lost "
                "before it ran, so this one will not run either. Submit it again.",
            }
            self.jobs.fail_overdue(snap.record, problem)
            followers = [snap.record.id]
        else:
            state = job_state(leader)
            if state is State.SUCCEEDED:
                done = leader.record.progress or Progress()
                self.shares.completed(follows, leader.result, done)
            elif state is State.FAILED:
                self.shares.failed(follows, leader.record.error or INTERNAL_ERROR)
            else:  # still running; a cancelled leader handed its followers on at once
                return snap
        self.announce_end(sorted({*followers, snap.record.id}), self.kind_of(snap))
        return self.jobs.read(snap.record.id)


def init_app(app: Flask) -> None:
    """Attach the Backend to the app (no connection is made here)."""
    app.extensions["async_reports"] = Backend.build(
        app.config["SETTINGS"], app.config["WEB"].web_threads
    )


def backend() -> Backend:
    """The Backend of the current app."""
    return current_app.extensions["async_reports"]


def backend_of(app: Flask) -> Backend:
    """The Backend of `app` (outside a request)."""
    return app.extensions["async_reports"]
