"""Request and document schemas: each report type's parameters, ReportRequestSchema, and
the status and list-query schemas every kind's resources are documented (and read) with."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from marshmallow import Schema, ValidationError, fields

from app.http import cursor
from app.http.schemas import list_query_schema, status_schema
from jobs.kinds import JobKind
from jobs.settings import Settings
from jobs.status import build_status
from jobs.store import JobSnapshot, Progress
from kinds.imports import KIND as IMPORTS
from kinds.reports import KIND as REPORTS
from kinds.reports.catalogue import (
    MonthlySalesParameters,
    RegionBreakdownParameters,
    TopProductsParameters,
    YearlySalesParameters,
    visible_types,
)
from kinds.reports.request import ReportRequestSchema
from tests.unit.support import record, snapshot


def rejects(schema: type[Schema] | Schema, data: Any) -> dict[str, Any]:
    """Load `data`, expect a ValidationError, return its messages."""
    with pytest.raises(ValidationError) as caught:
        (schema() if isinstance(schema, type) else schema).load(data)
    messages = caught.value.messages
    assert isinstance(messages, dict) and messages
    return messages


# -- yearly-sales ----------------------------------------------------------------


# 2023.0 is the integer JSON Schema (and so the OpenAPI document) says it is.
@pytest.mark.parametrize("year", ["2023", 2023, "02023", 2023.0])
def test_year_as_string_or_integer_is_accepted(year: Any) -> None:
    assert YearlySalesParameters().load({"year": year}) == {"year": 2023}


@pytest.mark.parametrize(
    "year",
    [True, False, 2023.5, "2023.0", "twenty", "", "-2023", None, [2023], 1969, 2101, " 2023 "],
)
def test_bad_years_are_rejected(year: Any) -> None:
    assert "year" in rejects(YearlySalesParameters, {"year": year})


def test_year_is_required() -> None:
    assert "year" in rejects(YearlySalesParameters, {})


@pytest.mark.parametrize(
    "schema",
    [
        YearlySalesParameters,
        MonthlySalesParameters,
        TopProductsParameters,
        RegionBreakdownParameters,
    ],
)
def test_unknown_parameters_are_rejected_by_every_type(schema: type[Schema]) -> None:
    assert "colour" in rejects(schema, {"colour": "red"})


# -- monthly-sales ---------------------------------------------------------------


def test_monthly_sales_takes_a_year_and_a_month() -> None:
    loaded = MonthlySalesParameters().load({"year": "2024", "month": "2"})
    assert loaded == {"year": 2024, "month": 2}


@pytest.mark.parametrize("month", [0, 13, "May", 2.5, "2.5", " 2", True])
def test_monthly_sales_rejects_bad_months(month: Any) -> None:
    assert "month" in rejects(MonthlySalesParameters, {"year": 2024, "month": month})


# -- top-products ----------------------------------------------------------------


def test_top_products_defaults_to_ten_products_in_every_region() -> None:
    loaded = TopProductsParameters().load({"from": "2023-01-01", "to": "2023-03-31"})
    assert loaded == {
        "from_": dt.date(2023, 1, 1),
        "to": dt.date(2023, 3, 31),
        "limit": 10,
        "region": None,
    }


def test_top_products_takes_a_one_day_range_a_limit_and_a_region() -> None:
    loaded = TopProductsParameters().load(
        {"from": "2023-05-01", "to": "2023-05-01", "limit": "3", "region": "North"}
    )
    assert (loaded["limit"], loaded["region"]) == (3, "North")


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"from": "2023-05-01", "to": "2023-04-30"}, "to"),  # backwards
        ({"from": "2010-01-01", "to": "2023-01-01"}, "to"),  # over ten years
        ({"from": "1969-12-01", "to": "1970-01-31"}, "from"),  # before 1970
        ({"from": "2023-01-01"}, "to"),
        ({"to": "2023-01-01"}, "from"),
        ({"from": "2023-02-30", "to": "2023-03-01"}, "from"),  # no such day
        ({"from": "01/02/2023", "to": "2023-03-01"}, "from"),
        ({"from": "2023-01-01", "to": "2023-02-01", "limit": 0}, "limit"),
        ({"from": "2023-01-01", "to": "2023-02-01", "limit": 101}, "limit"),
        ({"from": "2023-01-01", "to": "2023-02-01", "limit": 2.5}, "limit"),
        ({"from": "2023-01-01", "to": "2023-02-01", "limit": False}, "limit"),
        ({"from": "2023-01-01", "to": "2023-02-01", "region": ""}, "region"),
    ],
)
def test_top_products_range_rules(parameters: dict[str, Any], field: str) -> None:
    assert field in rejects(TopProductsParameters, parameters)


def test_top_products_accepts_exactly_ten_years() -> None:
    loaded = TopProductsParameters().load({"from": "2014-01-01", "to": "2023-12-31"})
    assert loaded["to"] - loaded["from_"] == dt.timedelta(days=3651)


# -- region-breakdown --------------------------------------------------------------


def test_region_breakdown_quarter_is_optional() -> None:
    assert RegionBreakdownParameters().load({"year": 2023}) == {"year": 2023, "quarter": None}
    assert RegionBreakdownParameters().load({"year": "2023", "quarter": "4"}) == {
        "year": 2023,
        "quarter": 4,
    }


@pytest.mark.parametrize("quarter", [0, 5, "Q1", 1.5, True])
def test_region_breakdown_rejects_bad_quarters(quarter: Any) -> None:
    assert "quarter" in rejects(RegionBreakdownParameters, {"year": 2023, "quarter": quarter})


# -- the request as a whole ------------------------------------------------------

OFFERED = ReportRequestSchema(visible_types(include_hidden=False))


def test_the_seed_request_validates() -> None:
    body = {"reportType": "yearly-sales", "parameters": {"year": "2023"}}
    # The raw parameters are kept as sent; the worker re-validates them.
    assert OFFERED.load(body) == body


def test_parameters_default_to_none_given() -> None:
    body = ReportRequestSchema(visible_types(include_hidden=True)).load({"reportType": "noop"})
    assert body == {"reportType": "noop", "parameters": {}}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"reportType": "nope"}, {"reportType"}),
        ({"parameters": {"year": 2023}}, {"reportType"}),
        ({"reportType": "yearly-sales"}, {"parameters"}),
        ({"reportType": "yearly-sales", "parameters": "2023"}, {"parameters"}),
        ({"reportType": "yearly-sales", "parameters": {"year": 1.5}}, {"parameters"}),
        ({"reportType": "yearly-sales", "extra": 1, "parameters": {"year": 2023}}, {"extra"}),
        ({"reportType": "", "parameters": {}}, {"reportType"}),
    ],
)
def test_bad_requests_are_rejected_by_field(body: dict[str, Any], expected: set[str]) -> None:
    assert set(rejects(OFFERED, body)) == expected


def test_parameter_errors_are_nested_under_parameters() -> None:
    messages = rejects(OFFERED, {"reportType": "monthly-sales", "parameters": {"year": 2023}})
    assert set(messages["parameters"]) == {"month"}


def test_unknown_report_type_lists_the_known_ones() -> None:
    message = rejects(OFFERED, {"reportType": "nope"})["reportType"][0]
    assert "yearly-sales" in message and "top-products" in message


def test_diagnostic_noop_is_offered_only_when_enabled() -> None:
    # Given the schema of a deployment without diagnostic reports
    # Then noop is an unknown type there, and not listed among the known ones
    assert "reportType" in rejects(OFFERED, {"reportType": "noop", "parameters": {}})
    assert "noop" not in rejects(OFFERED, {"reportType": "nope"})["reportType"][0]
    # And a deployment with them enabled takes it
    enabled = ReportRequestSchema(visible_types(include_hidden=True))
    assert enabled.load({"reportType": "noop", "parameters": {"steps": 2}})["reportType"] == "noop"


def test_the_report_kind_builds_its_schema_from_the_settings() -> None:
    plain = REPORTS.request_schema(Settings())
    diagnostic = REPORTS.request_schema(Settings(enable_diagnostic_types=True))
    assert "reportType" in rejects(plain, {"reportType": "noop"})
    assert diagnostic.load({"reportType": "noop"})["reportType"] == "noop"


def test_a_schema_offering_nothing_rejects_every_type() -> None:
    message = rejects(ReportRequestSchema(), {"reportType": "yearly-sales"})["reportType"][0]
    assert "Unknown report type" in message


# -- status documents ------------------------------------------------------------

CREATED = 1_800_000_000.0
JOB_ID = "3f0c2a52-7d8e-4c1b-9a6f-0e1d2c3b4a59"


def documents(kind: JobKind, job_type: str) -> list[dict[str, Any]]:
    """A job of `kind` in each state, as build_status documents it."""
    metas: list[dict[str, Any] | None] = [
        None,
        {"status": "STARTED"},
        {"status": "RETRY"},
        {"status": "SUCCESS", "result": {"rowsRead": 3}, "date_done": "2027-01-15T08:00:30"},
        {"status": "FAILURE", "result": {"exc_type": "WorkerLostError"}},
        {"status": "REVOKED"},
    ]
    out = []
    for meta in metas:
        rec = record(
            JOB_ID,
            kind=kind.name,
            type=job_type,
            created=CREATED,
            started_at=CREATED + 1,
            progress=Progress(1, 4, 25),
        )
        snap: JobSnapshot = snapshot(rec, meta, mean=5.0, now=CREATED + 2)
        out.append(build_status(snap, kind).document)
    return out


@pytest.mark.parametrize(("kind", "job_type"), [(REPORTS, "yearly-sales"), (IMPORTS, "sales-csv")])
def test_every_status_document_matches_its_documented_schema(kind: JobKind, job_type: str) -> None:
    # Given the documented status schema of a kind (what the OpenAPI document shows)
    schema = status_schema(kind)()
    for doc in documents(kind, job_type):
        # Then each document validates against it, with no field left undocumented
        assert schema.validate(doc) == {}, doc["state"]


def test_a_status_schema_documents_its_kinds_own_fields_and_links() -> None:
    reports, imports = status_schema(REPORTS)(), status_schema(IMPORTS)()
    assert {"reportType", "reportURL"} <= set(reports.fields)
    assert "reportType" not in imports.fields and {"result", "errorsURL"} <= set(imports.fields)
    report_links, import_links = reports.fields["links"], imports.fields["links"]
    assert isinstance(report_links, fields.Nested) and isinstance(import_links, fields.Nested)
    assert set(report_links.schema.fields) == {"self", "cancel", "report"}
    assert set(import_links.schema.fields) == {"self", "cancel", "errors"}


def test_a_status_schema_refuses_a_status_outside_the_contract() -> None:
    doc = documents(REPORTS, "yearly-sales")[0]
    errors = status_schema(REPORTS)().validate({**doc, "status": "Done", "state": "over"})
    assert set(errors) == {"status", "state"}


# -- list queries ----------------------------------------------------------------


def test_a_list_query_defaults_to_the_first_page_of_twenty() -> None:
    assert list_query_schema(REPORTS)().load({}) == {
        "status": None,
        "limit": 20,
        "cursor": None,
        "reportType": None,
    }
    assert list_query_schema(IMPORTS)().load({}) == {"status": None, "limit": 20, "cursor": None}


def test_a_list_query_takes_a_status_a_limit_a_cursor_and_the_kinds_type_filter() -> None:
    token = cursor.encode(1.5, str(uuid.uuid4()))
    query = {"status": "Complete", "limit": "5", "cursor": token, "reportType": "yearly-sales"}
    assert list_query_schema(REPORTS)().load(query) == {**query, "limit": 5}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "Done"}, "status"),
        ({"status": "complete"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": ""}, "cursor"),
        ({"reportType": ""}, "reportType"),
    ],
)
def test_a_bad_list_query_is_rejected_by_field(query: dict[str, str], field: str) -> None:
    assert field in rejects(list_query_schema(REPORTS), query)


def test_a_foreign_cursor_is_rejected_with_a_hint() -> None:
    message = rejects(list_query_schema(REPORTS), {"cursor": "abc"})["cursor"][0]
    assert "next" in message


def test_only_a_kind_with_a_type_field_filters_by_type() -> None:
    assert "reportType" in rejects(list_query_schema(IMPORTS), {"reportType": "yearly-sales"})
