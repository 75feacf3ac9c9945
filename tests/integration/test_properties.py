"""Property: whatever the request headers the service reads and whatever the string and
number parameters, the answer is never a 500, every error is problem+json, and a
rejected request leaves no job behind."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.stack import Stack
from jobs.store.keys import Keys

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
HUGE = "<a number of five thousand digits>"  # put in the JSON text as such
SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# Header values as a client can send them: visible Latin-1 and spaces (no CR/LF).
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=80,
).map(lambda t: t.lstrip(" \xa0\x85"))  # requests refuses a value that starts with a space
prefer = st.one_of(
    header_text,
    st.integers(-5, 10**12).map(lambda n: f"wait={n}"),
    st.text("0123456789", min_size=1, max_size=30).map(lambda d: f"wait={d}"),
    st.integers(4000, 6000).map(lambda n: "wait=" + "9" * n),  # past int()'s digit limit
    st.sampled_from(["wait=1", 'wait="2"', "respond-async, wait=1", "wait", "wait=1;x=y"]),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Prefer": prefer,
        "If-None-Match": st.one_of(header_text, st.just("*"), st.just('W/"x"')),
        "Idempotency-Key": st.one_of(header_text, st.text("ab", min_size=250, max_size=300)),
        "Authorization": st.one_of(header_text, header_text.map(lambda t: "Bearer " + t)),
        "X-Request-ID": header_text,
        "Accept": st.one_of(
            header_text, st.sampled_from(["text/csv", "application/json", "*/*", "x/y;q=0"])
        ),
    },
)
# Parameters: strings of any code point (lone surrogates included), numbers of any size.
scalar = st.one_of(
    st.text(max_size=12),
    st.text("0123456789\u0660\u0662\uff10\uff12 +-._e", max_size=8),
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.sampled_from(["\ud800", "x\udfffy", "2023", "2023-01-01", "2023-02-30", HUGE]),
)
names = st.one_of(
    st.sampled_from(
        ["year", "month", "quarter", "from", "to", "limit", "region", "steps", "failAtStep"]
    ),
    st.text(max_size=6),
)
parameters = st.dictionaries(names, scalar, max_size=4)
report_type = st.one_of(
    st.sampled_from(["yearly-sales", "monthly-sales", "top-products", "region-breakdown", "noop"]),
    st.text(max_size=10),
)


def job_records(client: redis.Redis) -> set[str]:
    return set(client.keys(Keys().job("*")))


def check_answer(resp: requests.Response) -> None:
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert resp.headers["Content-Type"] == PROBLEM, resp.text
        assert resp.json()["status"] == resp.status_code


def test_submit_never_fails_and_a_rejection_leaves_no_job(
    stack: Stack, redis_client: redis.Redis
) -> None:
    @SETTINGS
    @given(headers=headers, kind=report_type, params=parameters)
    def submit(headers: dict[str, str], kind: str, params: dict[str, Any]) -> None:
        before = job_records(redis_client)
        body = json.dumps({"reportType": kind, "parameters": params})
        body = body.replace(json.dumps(HUGE), "9" * 5000)
        headers = {**headers, "Content-Type": "application/json"}
        resp = requests.post(
            f"{stack.base_url}/api/reports", data=body.encode(), headers=headers, timeout=90
        )
        check_answer(resp)
        if resp.status_code in (200, 202):
            assert resp.headers["Location"]
            # Cancelled at once, so a long diagnostic job does not hold the worker.
            requests.delete(f"{stack.base_url}/api/reports/{resp.json()['id']}", timeout=10)
        else:
            assert job_records(redis_client) <= before

    submit()


def test_status_and_listing_never_fail_whatever_the_headers(stack: Stack) -> None:
    created = requests.post(
        f"{stack.base_url}/api/reports",
        json={"reportType": "noop", "parameters": {"steps": 1}},
        timeout=10,
    )
    location = created.headers["Location"]

    @SETTINGS
    @given(headers=headers, cursor=st.one_of(st.none(), st.text(max_size=80)))
    def read(headers: dict[str, str], cursor: str | None) -> None:
        check_answer(requests.get(f"{stack.base_url}{location}", headers=headers, timeout=90))
        query = {} if cursor is None else {"cursor": cursor}
        check_answer(
            requests.get(f"{stack.base_url}/api/reports", params=query, headers=headers, timeout=30)
        )

    read()
