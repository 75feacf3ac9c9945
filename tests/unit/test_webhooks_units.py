"""Webhooks without a stack: signatures, the SSRF check, retry decisions, the delivery store."""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest
from standardwebhooks.webhooks import Webhook

from app import create_app
from jobs.settings import Settings
from jobs.store.keys import Keys
from jobs.store.webhooks import (
    DeliveryStatus,
    DeliveryStore,
    Finished,
    SecretStore,
    delivery_id,
)
from jobs.webhooks.delivery import decide
from jobs.webhooks.sender import Answer, attempt, parse_retry_after
from jobs.webhooks.signing import new_secret, sign, signature_header
from jobs.webhooks.urls import WebhookRefused, check_url
from tests.webhook_urls import INTERNAL_URLS as SHARED_INTERNAL_URLS
from tests.webhook_urls import UNSPECIFIED_AND_MAPPED_URLS

INTERNAL_URLS = [*SHARED_INTERNAL_URLS, *UNSPECIFIED_AND_MAPPED_URLS]


@pytest.fixture
def client() -> Iterator[fakeredis.FakeRedis]:
    server = fakeredis.FakeRedis(decode_responses=True)
    yield server
    server.flushall()


def test_our_signature_verifies_with_the_standardwebhooks_library() -> None:
    # Given a secret of ours and a body
    secret = new_secret()
    body = '{"type":"job.completed","data":{}}'
    now = int(dt.datetime.now(dt.UTC).timestamp())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": signature_header([new_secret(), secret], "msg_1", now, body),
    }
    # Then the reference library accepts it (either signature of the two may match)
    assert Webhook(secret).verify(body, headers) == {"type": "job.completed", "data": {}}
    # And our signature equals the library's own
    stamp = dt.datetime.fromtimestamp(now, dt.UTC)
    assert sign(secret, "msg_1", now, body) == Webhook(secret).sign("msg_1", stamp, body)
    assert secret.startswith("whsec_") and len(secret) > len("whsec_") + 32


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_addresses_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(WebhookRefused):
        check_url(url, allow_private=False)
    assert check_url(url, allow_private=True).addresses


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "example.com/x", "http://", "http://a:x/"]
)
def test_only_absolute_http_urls_are_taken(url: str) -> None:
    with pytest.raises(WebhookRefused):
        check_url(url, allow_private=True)


def test_a_delivery_to_an_internal_address_is_not_sent() -> None:
    # Given a URL that turned internal after the submit (DNS changed): not even connected to
    answer = attempt("http://127.0.0.1:9/hook", {}, b"{}", 1.0, allow_private=False)
    assert answer.status is None and answer.error and answer.error.startswith("refused:")
    assert decide(answer, 1, Settings(), 0.0).status is DeliveryStatus.FAILED


@pytest.mark.parametrize("url", INTERNAL_URLS[:5])
def test_a_submit_with_an_internal_webhook_is_a_422(url: str) -> None:
    # Given the web app with the default settings (no allowance)
    app = create_app({"SETTINGS": Settings()})
    body = {"reportType": "yearly-sales", "parameters": {"year": "2023"}, "webhook": url}
    # When a client submits with an internal webhook URL
    resp = app.test_client().post("/api/reports", json=body)
    # Then it is refused before anything is created, naming the field
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert "internal address" in resp.get_json()["errors"]["webhook"][0]


def settings(**env: str) -> Settings:
    return Settings.from_env(env)


def test_2xx_succeeds_410_stops_and_the_schedule_runs_out() -> None:
    s = settings(WEBHOOK_RETRY_SCHEDULE="5,300")
    assert decide(Answer(204, 0.1), 1, s, 0.0).status is DeliveryStatus.SUCCEEDED
    assert decide(Answer(410, 0.1, "HTTP 410"), 1, s, 0.0).status is DeliveryStatus.STOPPED
    first = decide(Answer(500, 0.1, "HTTP 500"), 1, s, 1000.0)
    second = decide(Answer(None, 0.1, "refused by peer"), 2, s, 1000.0)
    assert first.status is DeliveryStatus.PENDING and first.next_at is not None
    assert 1002.5 <= first.next_at <= 1005  # 5 s with jitter in [0.5, 1]
    assert second.next_at is not None and 1150 <= second.next_at <= 1300
    assert decide(Answer(500, 0.1, "HTTP 500"), 3, s, 0.0).status is DeliveryStatus.FAILED
    assert decide(Answer(302, 0.1, "HTTP 302"), 1, s, 0.0).status is DeliveryStatus.PENDING


def test_retry_after_on_429_and_503_is_honoured() -> None:
    s = settings(WEBHOOK_RETRY_SCHEDULE="1")
    later = decide(Answer(429, 0.1, "HTTP 429", retry_after=120.0), 1, s, 0.0)
    assert later.next_at == 120.0
    capped = settings(WEBHOOK_RETRY_SCHEDULE="1", WEBHOOK_MAX_RETRY_AFTER="60")
    assert decide(Answer(503, 0.1, "HTTP 503", retry_after=1e6), 1, capped, 0.0).next_at == 60.0
    when = email.utils.format_datetime(dt.datetime.fromtimestamp(1090, dt.UTC), usegmt=True)
    assert parse_retry_after(when, 1000.0) == 90.0
    assert parse_retry_after("7", 0.0) == 7.0 and parse_retry_after("soon", 0.0) is None


def test_the_default_schedule_retries_for_more_than_a_day() -> None:
    delays = Settings().webhook_delays
    assert delays[:3] == (5.0, 300.0, 1800.0)
    assert sum(delays) * 0.5 > 24 * 3600  # even with the smallest jitter


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(SystemExit):
        settings(WEBHOOK_RETRY_SCHEDULE="5,soon")
    with pytest.raises(SystemExit):
        settings(WEBHOOK_RETRY_SCHEDULE="5,-1")


def record(store: DeliveryStore, job: str = "job-1", key: str = "completed") -> str | None:
    return store.record(job, "report", "alice", key, "job.completed", "https://e.x/h", "{}")


ATTEMPT = {"at": 1.0, "statusCode": 200, "duration": 0.1, "error": None}


def end(store: DeliveryStore, did: str, token: int, status: DeliveryStatus) -> Finished:
    found = store.get(did)
    assert found is not None
    next_at = time.time() + 60 if status is DeliveryStatus.PENDING else None
    return store.finish_attempt(found, token, ATTEMPT, status, next_at, 30)


def test_a_jobs_later_event_waits_until_its_earlier_delivery_has_ended(client: Any) -> None:
    # Given a job's started event leased, and two later events recorded meanwhile
    store = DeliveryStore(client, Keys("t"), 3600)
    first = record(store, key="started")
    assert first is not None
    ((_, token),) = store.lease(30)
    second, third = record(store, key="progress:1"), record(store, key="completed")
    other = record(store, job="job-2")  # another job's event does not wait
    assert second and third and other
    # Then only the other job's event is due; the waiting ones count as pending
    assert store.lease(30) == [(other, 1)]
    assert store.pending() == 4
    waiting = store.get(second)
    assert waiting is not None and waiting.next_at is None
    # When the first delivery's attempt fails and is scheduled again, nothing is released
    assert end(store, first, token, DeliveryStatus.PENDING) == Finished(True, None)
    # When its retry comes due and fails for good, its end leases the next event only
    client.zadd(Keys("t").deliveries_due(), {first: 0})
    assert store.lease(30) == [(first, token + 1)]
    token += 1
    finished = end(store, first, token, DeliveryStatus.FAILED)
    assert finished == Finished(True, (second, 1))
    assert store.lease(30) == []  # leased by that end: not handed out again
    # And the second's end releases the third; the third's end releases nothing
    assert end(store, second, 1, DeliveryStatus.SUCCEEDED) == Finished(True, (third, 1))
    assert end(store, third, 1, DeliveryStatus.SUCCEEDED) == Finished(True, None)
    assert [d.status for d in store.of_job("job-1")] == [DeliveryStatus.FAILED] + [
        DeliveryStatus.SUCCEEDED
    ] * 2
    assert store.pending() == 1  # the other job's


def test_a_stale_attempts_end_releases_nothing(client: Any) -> None:
    store = DeliveryStore(client, Keys("t"), 3600)
    first = record(store, key="started")
    assert first is not None
    ((_, token),) = store.lease(0)
    second = record(store, key="completed")
    ((_, newer),) = store.lease(30)
    # An attempt under the old lease ends: the newer lease still holds the first
    assert end(store, first, token, DeliveryStatus.SUCCEEDED) == Finished(False, None)
    assert end(store, first, newer, DeliveryStatus.SUCCEEDED) == Finished(True, (second, 1))


def test_an_event_is_recorded_once_and_due_at_once(client: Any) -> None:
    store = DeliveryStore(client, Keys("t"), 3600)
    did = record(store)
    assert did == delivery_id("job-1", "completed") and did.startswith("msg_")
    assert record(store) is None  # a repeat of the event (a redelivered task) makes none
    assert [d.id for d in store.of_job("job-1")] == [did]
    assert store.lease(30) == [(did, 1)]
    assert store.lease(30) == []  # leased: not handed out twice


def test_an_attempt_under_an_old_lease_changes_nothing_but_the_log(client: Any) -> None:
    store = DeliveryStore(client, Keys("t"), 3600)
    did = record(store)
    assert did is not None
    ((_, token),) = store.lease(0)  # a lease that ends at once: handed out again
    ((_, newer),) = store.lease(30)
    assert newer == token + 1
    assert not end(store, did, token, DeliveryStatus.SUCCEEDED).written
    found = store.get(did)
    assert found is not None and found.status is DeliveryStatus.PENDING
    assert end(store, did, newer, DeliveryStatus.SUCCEEDED).written
    found = store.get(did)
    assert found is not None and found.status is DeliveryStatus.SUCCEEDED
    assert len(found.attempts) == 2 and store.pending() == 0


def test_a_rotation_keeps_the_old_secret_signing_for_the_overlap(client: Any) -> None:
    secrets = SecretStore(client, Keys("t"), 3600)
    first = secrets.current("alice")
    assert secrets.current("alice") == first and secrets.current("bob") != first
    fresh, until = secrets.rotate("alice")
    assert secrets.signing("alice") == [fresh, first]
    expired = SecretStore(client, Keys("u"), 0)
    expired.current("alice")
    newest, _ = expired.rotate("alice")
    assert expired.signing("alice") == [newest]
    assert until > 0


def query_webhook_of(query: str, allow: bool = True) -> dict[str, Any] | None:
    from app.views.push import query_webhook

    settings_ = Settings.from_env({"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1" if allow else "0"})
    app = create_app({"SETTINGS": settings_})
    with app.test_request_context(f"/api/imports?{query}"):
        return query_webhook()


def test_a_streamed_submission_takes_its_webhook_from_the_query() -> None:
    # Given a kind whose body is a stream (a CSV upload): the webhook is in the query
    spec = query_webhook_of("webhook=http://127.0.0.1:9/h&webhookEvents=completed,started")
    assert spec == {"url": "http://127.0.0.1:9/h", "events": ["started", "completed"]}
    repeated = query_webhook_of(
        "webhook=http://127.0.0.1:9/h&webhookEvents=progress&webhookEvents=started"
    )
    assert repeated is not None and repeated["events"] == ["started", "progress"]
    assert query_webhook_of("webhook=http://127.0.0.1:9/h") == {
        "url": "http://127.0.0.1:9/h",
        "events": ["completed"],
    }
    assert query_webhook_of("") is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("webhook=http://127.0.0.1:9/h&webhookEvents=finished", "webhookEvents"),
        ("webhookEvents=completed", "webhook"),
    ],
)
def test_a_streamed_submission_with_bad_webhook_fields_is_refused(query: str, field: str) -> None:
    from jobs.errors import InvalidRequest

    with pytest.raises(InvalidRequest) as caught:
        query_webhook_of(query)
    assert caught.value.errors is not None and field in caught.value.errors


def test_a_streamed_submission_to_an_internal_address_is_refused() -> None:
    with pytest.raises(WebhookRefused):
        query_webhook_of("webhook=http://10.0.0.1/h", allow=False)


def test_a_json_kind_whose_schema_lacks_the_webhook_fields_gets_them() -> None:
    from marshmallow import Schema, fields

    from jobs.webhooks.request import with_webhook_fields

    class Plain(Schema):
        name = fields.String(required=True)

    schema = with_webhook_fields(Plain())
    body = schema.load({"name": "x", "webhook": "https://e.x/h", "webhookEvents": ["started"]})
    assert body == {"name": "x", "webhook": "https://e.x/h", "webhookEvents": ["started"]}
    assert Plain().fields.keys() == {"name"}  # the class itself is left as it was
