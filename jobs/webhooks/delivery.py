"""Attempt a delivery and decide what comes next: done, retry later, or give up."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from jobs.backoff import compute_backoff
from jobs.settings import Settings
from jobs.store.webhooks import DeliveryStatus, DeliveryStore, SecretStore
from jobs.webhooks.sender import Answer, attempt
from jobs.webhooks.signing import signature_header

log = logging.getLogger(__name__)

USER_AGENT = "async-reports-webhooks/1"


@dataclass(frozen=True)
class Decision:
    """The status after an attempt, when to try again, and the outcome counted."""

    status: DeliveryStatus
    next_at: float | None
    outcome: str  # succeeded, retrying, failed, stopped, refused


def decide(answer: Answer, attempts_made: int, settings: Settings, now: float) -> Decision:
    """What an answer means: 2xx succeeds; 410 stops; a refusal fails; else retry on
    the schedule (jittered, at least Retry-After on 429/503) until it runs out."""
    if answer.status is not None and 200 <= answer.status < 300:
        return Decision(DeliveryStatus.SUCCEEDED, None, "succeeded")
    if answer.status == 410:
        return Decision(DeliveryStatus.STOPPED, None, "stopped")
    if answer.error and answer.error.startswith("refused:"):
        return Decision(DeliveryStatus.FAILED, None, "refused")
    delays = settings.webhook_delays
    if attempts_made > len(delays):
        return Decision(DeliveryStatus.FAILED, None, "failed")
    planned = delays[attempts_made - 1]
    delay = compute_backoff(0, base=planned, cap=planned)  # the one jitter rule
    if answer.retry_after is not None:
        delay = max(delay, min(answer.retry_after, float(settings.webhook_max_retry_after)))
    return Decision(DeliveryStatus.PENDING, now + delay, "retrying")


def deliver(
    deliveries: DeliveryStore, secrets: SecretStore, settings: Settings, did: str, token: int
) -> list[str]:
    """Attempt delivery `did` under lease `token`, then each later event of its job that
    the end of the one before released (a job's deliveries go out in event order);
    the outcomes (none: `did` had finished meanwhile, or a newer lease holds it)."""
    outcomes: list[str] = []
    lease: tuple[str, int] | None = (did, token)
    while lease is not None:
        outcome, lease = attempt_one(deliveries, secrets, settings, *lease)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def attempt_one(
    deliveries: DeliveryStore, secrets: SecretStore, settings: Settings, did: str, token: int
) -> tuple[str | None, tuple[str, int] | None]:
    """One attempt of delivery `did` under lease `token`: its outcome (None: skipped),
    and the job's next delivery if this attempt's end released it."""
    found = deliveries.get(did)
    if found is None or found.status is not DeliveryStatus.PENDING or found.lease != token:
        return None, None  # finished meanwhile, or a newer lease holds it
    now = time.time()
    if deliveries.is_gone(found.url):
        answer = Answer(None, 0.0, "stopped: the endpoint answered 410 Gone to an earlier delivery")
        decision = Decision(DeliveryStatus.STOPPED, None, "stopped")
    else:
        timestamp = int(now)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": found.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                secrets.signing(found.owner), found.id, timestamp, found.body
            ),
        }
        answer = attempt(
            found.url,
            headers,
            found.body.encode(),
            settings.webhook_timeout,
            settings.webhook_allow_private_networks,
        )
        decision = decide(answer, len(found.attempts) + 1, settings, time.time())
    record: dict[str, Any] = {
        "at": now,
        "statusCode": answer.status,
        "duration": round(answer.duration, 4),
        "error": answer.error,
    }
    finished = deliveries.finish_attempt(
        found, token, record, decision.status, decision.next_at, settings.webhook_lease
    )
    deliveries.count(decision.outcome)
    if decision.status is DeliveryStatus.SUCCEEDED:
        deliveries.endpoint_ok(found.url)
    else:
        deliveries.endpoint_failed(found.url, found.owner, answer.error or "")
    if answer.status == 410:
        deliveries.mark_gone(found.url)
    log.info(
        "webhook %s (%s) to %s: %s",
        did,
        found.event,
        found.url,
        decision.outcome,
        extra={"job_id": found.job, "webhook_status": answer.status},
    )
    return decision.outcome, finished.next
