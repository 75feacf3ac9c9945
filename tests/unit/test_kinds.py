"""The kinds registry: JOB_KINDS names the modules, each declares a KIND the core serves.

This module declares a kind of its own (EchoKind, `KIND` below), so the tests can check
that the core serves any kind, not just the two the project ships.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from flask import Flask
from marshmallow import Schema, fields, validate

import jobs.kinds as kinds_module
from app import create_app
from jobs.kinds import (
    JobKind,
    KindContext,
    Resource,
    RunContext,
    Submission,
    json_fingerprint,
)
from jobs.registry import Kinds, load_executor, load_kinds
from jobs.settings import Settings
from jobs.states import State
from jobs.status import build_status
from jobs.store import JobRecord, JobSnapshot, Progress
from kinds.imports import KIND as IMPORTS
from kinds.reports import KIND as REPORTS
from tests.unit.support import record, snapshot

THIS_MODULE = __name__  # "tests.unit.test_kinds", importable like any kind's module
PAGES = Resource(
    name="pages",
    field="pagesURL",
    link="pages",
    states=frozenset({State.SUCCEEDED}),
    formats=("json",),
)


class EchoRequest(Schema):
    """The body of POST /api/echoes."""

    echoType = fields.String(required=True, validate=validate.OneOf(["loud", "quiet"]))
    words = fields.List(fields.String(), load_default=list)


class EchoKind(JobKind):
    """A kind the core knows nothing about: it echoes its parameters, page by page."""

    name = "echo"
    collection = "echoes"
    title = "Echoes"
    description = "Echo the parameters back."
    executor = f"{THIS_MODULE}:echo"
    type_field = "echoType"
    progress_unit = "pages"
    resources: ClassVar[tuple[Resource, ...]] = (PAGES,)

    def types(self, settings: Settings) -> list[str]:
        return ["loud", "quiet"]

    def task_names(self) -> dict[str, str]:
        return {"loud": "echoes.loud", "quiet": "echoes.quiet"}

    def request_schema(self, settings: Settings) -> Schema:
        return EchoRequest()

    def accept(self, body: dict[str, Any], ctx: KindContext) -> Submission:
        return Submission(body["echoType"], body, json_fingerprint(body))

    def describe(self, record: JobRecord) -> dict[str, Any]:
        return {"echoType": record.type, "words": record.parameters.get("words", [])}

    def outcome(self, snap: JobSnapshot) -> dict[str, Any]:
        return {"echoed": snap.result}


def echo(ctx: RunContext, job_type: str, parameters: dict[str, Any]) -> Any:
    """EchoKind's computation (what its executor names)."""
    return parameters


KIND = EchoKind()


class SameCollection(EchoKind):
    name = "shout"


SHIPPED = "kinds.reports,kinds.imports"


def test_the_default_deployment_serves_the_default_kinds_reports_among_them() -> None:
    kinds = load_kinds(Settings())
    assert len(kinds) == len(Settings().kind_modules) and kinds["report"] is REPORTS


def test_job_kinds_chooses_the_kinds_served() -> None:
    both = load_kinds(Settings.from_env({"JOB_KINDS": SHIPPED}))
    assert set(both) == {"report", "import"}
    assert both["report"] is REPORTS and both["import"] is IMPORTS
    assert set(both.by_collection) == {"reports", "imports"}
    only = load_kinds(Settings.from_env({"JOB_KINDS": "kinds.imports"}))
    assert list(only) == ["import"] and len(only) == 1


def test_tasks_lead_back_to_their_kind_and_type() -> None:
    kinds = load_kinds(Settings(job_kinds=SHIPPED))
    assert kinds.by_task["reports.yearly_sales"] == (REPORTS, "yearly-sales")
    assert kinds.by_task["reports.noop"] == (REPORTS, "noop")  # hidden, but still run
    assert kinds.by_task["imports.sales_csv"] == (IMPORTS, "sales-csv")


@pytest.mark.parametrize("module", ["kinds.no_such_kind", "no_such_package.kind"])
def test_a_module_that_cannot_be_imported_stops_the_process(module: str) -> None:
    with pytest.raises(SystemExit, match=module):
        load_kinds(Settings(job_kinds=f"kinds.reports,{module}"))


def test_a_module_without_a_kind_stops_the_process() -> None:
    with pytest.raises(SystemExit, match=r"jobs\.states"):
        load_kinds(Settings(job_kinds="jobs.states"))


def test_two_kinds_may_not_share_a_collection() -> None:
    with pytest.raises(SystemExit, match="collection"):
        Kinds([KIND, SameCollection()])


def test_a_kind_of_the_deployments_own_is_loaded_by_its_module_name() -> None:
    # Given JOB_KINDS naming this module beside reports
    kinds = load_kinds(Settings(job_kinds=f"kinds.reports,{THIS_MODULE}"))
    # Then its kind is served, found by name, collection and task
    assert kinds["echo"] is KIND
    assert kinds.by_collection["echoes"] is KIND
    assert kinds.by_task["echoes.quiet"] == (KIND, "quiet")
    # And the worker finds its computation through the executor
    assert load_executor(KIND) is echo


def test_a_kind_of_the_deployments_own_gets_status_documents() -> None:
    # Given a running echo job at page 2 of 8
    rec = record(
        "e-1",
        kind="echo",
        type="loud",
        parameters={"words": ["hi"]},
        created=1000.0,
        started_at=1000.0,
        progress=Progress(2, 8, 25),
    )
    running = build_status(snapshot(rec, {"status": "STARTED"}, now=1010.0), KIND).document
    # Then its document is the core's, with the kind's fields, links and unit
    assert list(running)[:5] == ["id", "kind", "echoType", "words", "status"]
    assert (running["kind"], running["echoType"], running["words"]) == ("echo", "loud", ["hi"])
    assert running["progress"] == {"percent": 25, "current": 2, "total": 8, "unit": "pages"}
    assert running["links"] == {"self": "/api/echoes/e-1/status", "cancel": "/api/echoes/e-1"}
    # And once it succeeded, its outcome and its resource
    done = build_status(snapshot(rec, {"status": "SUCCESS", "result": ["hi"]}, now=1020.0), KIND)
    assert done.document["echoed"] == ["hi"]
    assert done.document["pagesURL"] == done.document["links"]["pages"] == "/api/echoes/e-1/pages"


def test_a_kind_of_the_deployments_own_gets_the_http_protocol() -> None:
    # Given a web app serving reports and the echo kind
    app: Flask = create_app({"SETTINGS": Settings(job_kinds=f"kinds.reports,{THIS_MODULE}")})
    # Then its collection, jobs, status and resource are routes of the API
    paths = app.test_client().get("/api/openapi.json").get_json()["paths"]
    assert {
        "/api/echoes",
        "/api/echoes/{job_id}",
        "/api/echoes/{job_id}/status",
        "/api/echoes/{job_id}/pages",
    } <= set(paths)
    listing = {p["name"] for p in paths["/api/echoes"]["get"]["parameters"]}
    assert {"echoType", "status", "limit", "cursor"} <= listing
    # And no import routes, since JOB_KINDS does not name imports
    assert not any(p.startswith("/api/imports") for p in paths)
    # And its request body is checked by its schema before anything is created
    resp = app.test_client().post("/api/echoes", json={"echoType": "whisper", "words": [1]})
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert set(resp.get_json()["errors"]) == {"echoType", "words.0"}


def test_reports_offer_the_catalogue_types_and_hide_diagnostics_unless_enabled() -> None:
    plain, diagnostic = Settings(), Settings(enable_diagnostic_types=True)
    assert "noop" not in REPORTS.types(plain) and "noop" in REPORTS.types(diagnostic)
    assert set(REPORTS.types(plain)) == {
        "yearly-sales",
        "monthly-sales",
        "top-products",
        "region-breakdown",
    }
    path, items = REPORTS.catalogue(plain)
    assert path == "/report-types" and [i["name"] for i in items] == REPORTS.types(plain)


def test_a_report_request_becomes_a_job_of_its_type() -> None:
    body = {"reportType": "yearly-sales", "parameters": {"year": "2023"}}
    submission = REPORTS.accept(body, ctx=None)  # type: ignore[arg-type]
    assert (submission.type, submission.parameters) == ("yearly-sales", {"year": "2023"})
    assert submission.digest() == json_fingerprint(body)


def test_a_fingerprint_is_computed_only_when_asked_for_and_then_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = {"reportType": "yearly-sales", "parameters": {"year": "2023"}}
    expected = json_fingerprint([json_fingerprint([json_fingerprint(body), "high"]), {"u": 1}])
    computed: list[Any] = []
    original = kinds_module.json_fingerprint

    def counting(value: Any) -> str:
        computed.append(value)
        return original(value)

    monkeypatch.setattr(kinds_module, "json_fingerprint", counting)
    submission = REPORTS.accept(body, ctx=None)  # type: ignore[arg-type]
    # The priority and the webhook count in it as they always did, still uncomputed
    submission.fingerprint_with("high")
    submission.fingerprint_with({"u": 1})
    assert computed == []
    assert submission.digest() == expected and submission.digest() == expected
    assert len(computed) == 3  # the body, then each addition, once


def test_imports_are_one_streamed_type_counted_in_rows() -> None:
    assert IMPORTS.types(Settings()) == ["sales-csv"]
    assert IMPORTS.stream_media_types == ("text/csv",)
    assert IMPORTS.request_schema(Settings()) is None
    assert IMPORTS.progress_unit == "rows" and REPORTS.progress_unit == "steps"


def test_a_json_kind_is_not_submitted_as_a_stream_nor_a_stream_kind_as_json() -> None:
    with pytest.raises(NotImplementedError):
        REPORTS.accept_stream(None, "id", None)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError):
        IMPORTS.accept({}, None)  # type: ignore[arg-type]
