"""The broker message the web renders for a hand-over script to push (jobs/broker_messages.py)
is the one kombu's Redis transport pushes for Celery's `send_task` of the same job, checked
against a real Redis (a database of the test Redis that no worker consumes)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import redis

from jobs.broker_messages import RedisMessages, pushes_to_redis
from jobs.celery_config import DEFAULT_QUEUE
from jobs.clients import web_celery
from jobs.logs import REQUEST_ID, install_producer_hook
from jobs.settings import Settings


@pytest.mark.parametrize(
    "parameters",
    [
        {},
        {"year": 2024, "region": "Île-de-France", "steps": 3},
        {"rate": 0.1, "big": 10**20, "flag": True, "none": None, "quote": 'it\'s "x"'},
        {"long": "y" * 600},
        {"nested": {"list": [1, 2.5, None, True], "text": "x" * 2000}},
    ],
)
def test_the_rendered_message_is_the_one_kombu_pushes(
    redis_url: str, parameters: dict[str, Any]
) -> None:
    # Given the web's Celery producer on a Redis database of its own
    url = redis_url.rsplit("/", 1)[0] + "/9"
    settings = dataclasses.replace(Settings.from_env(), redis_url=url, celery_broker_url="")
    assert pushes_to_redis(settings)
    celery = web_celery(settings)
    client = redis.Redis.from_url(url, decode_responses=True)
    client.flushdb()
    install_producer_hook()  # as the web does: the request id goes into the headers
    token = REQUEST_ID.set("request-1")
    try:
        # When Celery publishes a job's task, and the web renders the same job's message
        celery.send_task("reports.noop", args=["job-1", parameters], task_id="job-1")
        theirs = json.loads(client.lpop(DEFAULT_QUEUE) or "null")
        ours = json.loads(RedisMessages(celery).render("reports.noop", "job-1", parameters))
    finally:
        REQUEST_ID.reset(token)
        client.flushdb()
    # Then they are the same but for the delivery tag, which is unique to each message
    assert theirs is not None
    tags = theirs["properties"].pop("delivery_tag"), ours["properties"].pop("delivery_tag")
    assert ours == theirs
    assert ours["headers"]["request_id"] == "request-1"
    assert tags[0] != tags[1] and len(tags[1]) == 36
