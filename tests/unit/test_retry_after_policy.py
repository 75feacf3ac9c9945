"""The Retry-After policy as a pure function, over simulated jobs (no clock, no server).

A simulated client submits at t=0, sleeps exactly each Retry-After it is given and stops
at the first poll that sees the job finished. Targets (issue 10): at most 6 requests
(the POST included) and the end learned within max(10% of the job's length, 1 s), for
jobs of any length when the progress estimate is accurate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from jobs.polling import MAX_RETRY_AFTER, Estimate, lateness_allowed, retry_after_for
from jobs.states import State
from jobs.status import build_status
from jobs.store import JobSnapshot, Progress
from kinds.reports import KIND as REPORTS
from tests.unit.support import progress, record, snapshot

START_DELAY = 0.05  # submit -> a worker starts it
SUCCESS = {"status": "SUCCESS", "result": {}, "date_done": "2027-01-15T08:00:30"}


@dataclass(frozen=True)
class SimJob:
    """A job of `steps` steps; `fraction_done(x)` maps share of its time to share of work."""

    length: float
    steps: int
    shape: Callable[[float], float] = lambda x: x
    mean: float | None = None  # the kind's recent mean run time the store reports
    report_steps: bool = True

    @property
    def end(self) -> float:
        return START_DELAY + self.length

    def first_step_at(self) -> float:
        """When the first step lands (the worker marks it: the rate is counted from it)."""
        lo, hi = 0.0, 1.0
        for _ in range(60):  # bisection: `shape` only grows
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if int(self.shape(mid) * self.steps + 1e-9) >= 1 else (mid, hi)
        return START_DELAY + hi * self.length

    def snap(self, t: float) -> JobSnapshot:
        """The job as the store would return it `t` s after it was submitted."""
        started = START_DELAY if t >= START_DELAY else None
        done = t >= self.end
        steps = None
        if started is not None and self.report_steps:
            share = 1.0 if done else self.shape((t - START_DELAY) / self.length)
            current = min(self.steps, int(share * self.steps + 1e-9))
            steps = progress(current, self.steps)
            if current:
                steps = replace(steps, mark=(1, self.first_step_at()))
        rec = record("job", created=0.0, started_at=started, progress=steps)
        if done:
            return snapshot(rec, SUCCESS, mean=self.mean, now=t)
        meta = {"status": "PROGRESS"} if started is not None else None
        return snapshot(rec, meta, mean=self.mean, rank=None if started else 0, slots=2, now=t)


def follow(job: SimJob, request_time: float = 0.01, limit: int = 1000) -> tuple[int, float]:
    """(requests, seconds late) for a client that follows Retry-After to the end."""
    t, requests = 0.0, 0
    while requests < limit:
        requests += 1
        view = build_status(job.snap(t), REPORTS)
        if view.terminal:
            return requests, t - job.end
        assert view.retry_after is not None
        t += request_time + view.retry_after
    raise AssertionError(f"{limit} requests and still not done")


LENGTHS = [2.0, 8.0, 30.0, 120.0, 600.0]


def target_lateness(job: SimJob) -> float:
    return lateness_allowed(job.end) + 0.02  # two requests' time on the wire


def fine_steps(length: float) -> int:
    """Steps of at most a second (and at least 10): progress shows from the first poll."""
    return max(10, int(length))


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("per_second", [1, 10])
def test_an_accurate_estimate_ends_in_six_requests_and_on_time(
    length: float, per_second: int
) -> None:
    job = SimJob(length, fine_steps(length) * per_second)
    requests, late = follow(job)
    assert requests <= 6, requests
    assert 0 <= late <= target_lateness(job), late


@pytest.mark.parametrize("length", LENGTHS)
def test_coarse_steps_cost_polls_until_the_first_one_but_never_lateness(length: float) -> None:
    # 10 steps: nothing is known until the first (up to 60 s here), so 10%-of-age polls
    job = SimJob(length, 10)
    requests, late = follow(job)
    assert late <= target_lateness(job), late
    assert requests <= 10 + 40, requests


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("mean", [1.0, 10.0, 1000.0])
def test_a_wrong_mean_duration_does_not_matter_once_progress_shows(
    length: float, mean: float
) -> None:
    job = SimJob(length, fine_steps(length), mean=mean)
    requests, late = follow(job)
    assert requests <= 6 and late <= target_lateness(job), (requests, late)


@pytest.mark.parametrize("length", LENGTHS)
def test_a_job_that_slows_down_is_still_learned_of_on_time(length: float) -> None:
    # Half the work in the first quarter of the time: the early rate underestimates.
    def slows(x: float) -> float:
        return 2 * x if x < 0.25 else 0.5 + (x - 0.25) * 2 / 3

    job = SimJob(length, fine_steps(length) * 10, shape=slows)
    requests, late = follow(job)
    assert late <= target_lateness(job), late
    assert requests <= 10, requests  # underestimates cost polls, never lateness


@pytest.mark.parametrize("length", LENGTHS)
def test_a_job_that_speeds_up_costs_lateness_bounded_by_its_speed_up(length: float) -> None:
    # A quarter of the work in the first half of the time: the early rate predicts twice
    # the length, and the client is sent there: late by up to the length (the price of
    # trusting the rate; documented in the README).
    def speeds(x: float) -> float:
        return x / 2 if x < 0.5 else 0.25 + (x - 0.5) * 1.5

    job = SimJob(length, fine_steps(length) * 10, shape=speeds)
    requests, late = follow(job)
    assert requests <= 6, requests
    assert late <= job.end + target_lateness(job), late


@pytest.mark.parametrize("length", LENGTHS)
def test_without_progress_an_exact_mean_gives_few_requests(length: float) -> None:
    job = SimJob(length, 10, mean=length, report_steps=False)
    requests, late = follow(job)
    assert late <= target_lateness(job), late
    # doubling up to the mean (the job's age each time), then the end
    assert requests <= 3 + math.ceil(math.log2(length)), requests


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("mean", [None, 1.0, 6000.0])
def test_without_progress_or_a_good_mean_the_end_is_still_learned_on_time(
    length: float, mean: float | None
) -> None:
    # Nothing to go on: geometric spacing, 10% of the job's age, keeps lateness bounded
    # (at the price of more requests, growing with the log of the length).
    job = SimJob(length, 10, mean=mean, report_steps=False)
    requests, late = follow(job)
    if mean is None or mean <= length:
        assert late <= target_lateness(job), late
    else:  # a mean far too long: doubling, so late by at most the job's length
        assert late <= job.end + 1, late
    assert requests <= 90, requests


def test_terminal_jobs_have_no_retry_after() -> None:
    for state in (State.SUCCEEDED, State.FAILED, State.CANCELLED):
        assert retry_after_for(state, Estimate(5, 5), 10) is None


@pytest.mark.parametrize("soonest", [0.0, 0.3, 1.0, 10.0, 100.0, 1e7])
@pytest.mark.parametrize("age", [0.0, 1.0, 100.0, 1e6])
@pytest.mark.parametrize("guess", [False, True])
def test_retry_after_is_a_whole_number_of_seconds_within_bounds(
    soonest: float, age: float, guess: bool
) -> None:
    seconds = retry_after_for(State.RUNNING, Estimate(soonest * 2, soonest, guess), age)
    assert isinstance(seconds, int) and 1 <= seconds <= MAX_RETRY_AFTER


@pytest.mark.parametrize("soonest", [0.5, 5.0, 50.0, 500.0])
@pytest.mark.parametrize("age", [1.0, 10.0, 1000.0])
def test_a_progress_estimate_is_aimed_just_past_the_soonest_end(soonest: float, age: float) -> None:
    seconds = retry_after_for(State.RUNNING, Estimate(soonest * 3, soonest), age)
    assert seconds is not None
    # never before the soonest end (rounded), never past it by the allowed lateness
    assert math.floor(soonest) <= seconds <= max(1, soonest + lateness_allowed(age + soonest))


@pytest.mark.parametrize("age", [0.0, 3.0, 40.0])
def test_a_guess_from_other_jobs_never_sends_a_client_past_twice_its_age(age: float) -> None:
    seconds = retry_after_for(State.QUEUED, Estimate(500.0, 500.0, guess=True), age)
    assert seconds is not None and seconds <= max(1, round(age))


def test_nothing_known_is_ten_percent_of_the_age() -> None:
    assert retry_after_for(State.RUNNING, None, 0.0) == 1
    assert retry_after_for(State.RUNNING, None, 300.0) == 30
    assert retry_after_for(State.RETRYING, None, 5000.0) == 500


def test_estimates_from_progress_count_one_step_more_for_the_soonest_end() -> None:
    # 3 of 10 steps in 30 s, no first step marked (a record written before marks)
    rec = record("job", created=0.0, started_at=0.0, progress=progress(3, 10))
    view = build_status(snapshot(rec, {"status": "PROGRESS"}, now=30.0), REPORTS)
    assert view.estimate is not None and not view.estimate.guess
    assert view.estimate.remaining == pytest.approx(70.0)
    assert view.estimate.soonest == pytest.approx(30.0 * 6 / 4)


def test_the_rate_is_counted_from_the_first_step_once_it_is_marked() -> None:
    # The first step took 12 s (a slow start), the next four 2 s each: 5 of 10 at 20 s
    rec = record(
        "job", created=0.0, started_at=0.0, progress=replace(progress(5, 10), mark=(1, 12.0))
    )
    view = build_status(snapshot(rec, {"status": "PROGRESS"}, now=20.0), REPORTS)
    assert view.estimate is not None and not view.estimate.guess
    assert view.estimate.remaining == pytest.approx(5 * 8.0 / 4)  # not 5 x 20 / 5
    assert view.estimate.soonest == pytest.approx(4 * 8.0 / 5)


@pytest.mark.parametrize("current", [1, 2])
def test_a_rate_from_fewer_than_three_steps_is_trusted_as_a_guess(current: int) -> None:
    rec = record("job", created=0.0, started_at=0.0, progress=progress(current, 100))
    view = build_status(snapshot(rec, {"status": "PROGRESS"}, now=1.0), REPORTS)
    assert view.estimate is not None and view.estimate.guess
    assert view.retry_after == 1  # the job's age ahead, not the 49+ s the rate says


def test_a_count_past_its_total_still_polls_again() -> None:
    rec = record("job", created=0.0, started_at=1.0, progress=Progress(120, 100, 99))
    view = build_status(snapshot(rec, {"status": "PROGRESS"}, now=10.0), REPORTS)
    assert view.retry_after == 1


def slow_first_step(length: float, steps: int, extra: float = 1.0) -> Callable[[float], float]:
    """Steps of equal length, but the first takes `extra` s longer (a busy worker)."""
    step = (length - extra) / steps

    def shape(x: float) -> float:
        t = x * length
        return 0.0 if t < step + extra else (1 + (t - step - extra) / step) / steps

    return shape


@pytest.mark.parametrize("length", [2.0, 8.0])
def test_a_slow_first_step_does_not_send_a_short_job_s_client_past_the_end(length: float) -> None:
    # bench.polling on a loaded machine: a 2 s job of 10 steps whose first step took a
    # second, so the rate from that one step predicted twice the length and the client
    # came back 1.3 s late. Until MIN_STEPS_FOR_RATE steps are counted it is sent no
    # further than the job's age ahead (doubling), and learns of the end on time.
    job = SimJob(length, 10, shape=slow_first_step(length, 10))
    requests, late = follow(job)
    assert 0 <= late <= target_lateness(job), late
    assert requests <= 7, requests  # the estimate was off: a poll more, not lateness
