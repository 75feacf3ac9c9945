"""Problem details: flatten() of marshmallow's messages, and the one place that answers
every error of the job core (and of a job's computation) as RFC 9457 problem+json."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from app.http.problems import PROBLEM_JSON, Problem, flatten, register_error_handlers
from jobs.errors import (
    BrokerUnavailable,
    InvalidRequest,
    MalformedRequest,
    PayloadTooLarge,
    RequestRejected,
    StoreUnavailable,
    UnsupportedMediaType,
)
from jobs.failures import DataUnavailable, JobError, ReportError
from jobs.problems import PROBLEM_BASE


def test_top_level_fields_keep_their_names() -> None:
    assert flatten({"reportType": ["Missing data for required field."]}) == {
        "reportType": ["Missing data for required field."]
    }


def test_nested_parameters_become_dotted_names() -> None:
    messages = {"parameters": {"year": ["Not a valid integer."], "x": ["Unknown field."]}}
    assert flatten(messages) == {
        "parameters.year": ["Not a valid integer."],
        "parameters.x": ["Unknown field."],
    }


def test_schema_level_messages_belong_to_the_body_or_their_parent() -> None:
    # Given a whole-body error and a schema-level error inside `parameters`
    messages = {"_schema": ["Invalid input type."], "parameters": {"_schema": ["Bad range."]}}
    # Then the first is the body's, the second the `parameters` field's
    assert flatten(messages) == {"_body": ["Invalid input type."], "parameters": ["Bad range."]}


def test_messages_for_the_same_field_are_merged() -> None:
    messages = {"parameters": {"_schema": ["One."], "to": ["Two."]}, "_schema": ["Three."]}
    flat = flatten(messages)
    assert flat == {"parameters": ["One."], "parameters.to": ["Two."], "_body": ["Three."]}


def test_list_items_are_numbered() -> None:
    messages = {"items": {0: {"name": ["Required."]}, 2: ["Not a string."]}}
    assert flatten(messages) == {"items.0.name": ["Required."], "items.2": ["Not a string."]}


def test_lists_of_dicts_are_numbered_by_position() -> None:
    assert flatten({"rows": [{"a": ["x"]}, {"b": ["y"]}]}) == {
        "rows.0.a": ["x"],
        "rows.1.b": ["y"],
    }


def test_a_bare_message_is_the_bodys() -> None:
    assert flatten("Invalid JSON.") == {"_body": ["Invalid JSON."]}
    assert flatten(["Invalid JSON."]) == {"_body": ["Invalid JSON."]}


def test_non_string_messages_become_strings() -> None:
    flat = flatten({"a": {"b": {"c": ["deep"]}}, "n": [1]})
    assert flat == {"a.b.c": ["deep"], "n.0": ["1"]}


# -- errors as responses -----------------------------------------------------------


def app_raising(error: Exception) -> Flask:
    """A Flask app whose one view raises `error`, with our error handlers."""
    app = Flask(__name__)
    register_error_handlers(app)

    @app.post("/api/things")
    def things() -> str:
        raise error

    return app


@pytest.mark.parametrize(
    ("error", "status", "slug"),
    [
        (MalformedRequest("The gzip stream ends early."), 400, "malformed-request"),
        (InvalidRequest("Bad header row."), 422, "validation-error"),
        (UnsupportedMediaType("Send CSV."), 415, "unsupported-media-type"),
        (PayloadTooLarge("Too big."), 413, "too-large"),
        (RequestRejected("No."), 422, "validation-error"),
    ],
)
def test_a_rejected_request_is_answered_with_its_status_and_detail(
    error: RequestRejected, status: int, slug: str
) -> None:
    resp = app_raising(error).test_client().post("/api/things")
    body = resp.get_json()
    assert resp.status_code == status and resp.mimetype == PROBLEM_JSON
    assert body["status"] == status and body["type"] == PROBLEM_BASE + slug
    assert body["detail"] == error.detail and body["instance"] == "/api/things"
    assert "errors" not in body


def test_a_rejection_with_field_errors_lists_them() -> None:
    error = InvalidRequest("See errors.", {"maxBadRows": ["Must be a non-negative integer."]})
    body = app_raising(error).test_client().post("/api/things").get_json()
    assert body["errors"] == {"maxBadRows": ["Must be a non-negative integer."]}


@pytest.mark.parametrize(
    ("error", "what"),
    [(StoreUnavailable("down"), "job store"), (BrokerUnavailable("down"), "job queue")],
)
def test_an_unreachable_dependency_is_a_503_to_retry_later(error: Exception, what: str) -> None:
    resp = app_raising(error).test_client().post("/api/things")
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
    assert what in resp.get_json()["detail"]


def test_a_problem_carries_its_headers_and_extra_members() -> None:
    problem = Problem(409, "Not yet.", headers={"Location": "/x"}, jobStatus="In Progress")
    resp = app_raising(problem).test_client().post("/api/things")
    assert resp.status_code == 409 and resp.headers["Location"] == "/x"
    assert resp.get_json()["jobStatus"] == "In Progress"


def test_an_unexpected_error_is_a_500_that_reveals_nothing() -> None:
    resp = app_raising(ZeroDivisionError("secret detail")).test_client().post("/api/things")
    assert resp.status_code == 500 and resp.mimetype == PROBLEM_JSON
    assert "secret" not in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    ("make", "slug"),
    [
        (JobError, "job-failed"),
        (ReportError, "report-failed"),
        (DataUnavailable, "data-unavailable"),
    ],
)
def test_a_jobs_failure_is_described_as_a_problem(
    make: Callable[[str], JobError], slug: str
) -> None:
    error = make("The sales database has no `sales` table.")
    assert error.problem() == {
        "type": PROBLEM_BASE + slug,
        "title": type(error).title,
        "detail": "The sales database has no `sales` table.",
    }
