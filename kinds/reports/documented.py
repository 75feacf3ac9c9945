"""The JSON Schema of each report type's parameters and of `POST /api/reports`, written
from the same marshmallow fields the server validates with, so that a generated client,
schemathesis and the server agree on what is valid.

Two rules of `top-products` cannot be said in JSON Schema (`to` not before `from`, at
most ten years apart); the document states them in words.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from kinds.reports.catalogue import (
    MAX_YEAR,
    MIN_YEAR,
    DecimalNumber,
    ReportType,
    WholeNumber,
)

# Ranges small enough to spell out as numeric strings: "7", "007".
MAX_SPELLED_VALUES = 2000


def _range(field: fields.Field) -> tuple[float | None, float | None]:
    for v in field.validators:
        if isinstance(v, validate.Range):
            return v.min, v.max
    return None, None


def _length(field: fields.Field) -> tuple[int | None, int | None]:
    for v in field.validators:
        if isinstance(v, validate.Length):
            return v.min, v.max
    return None, None


def _numeric_string(low: int | None, high: int | None) -> dict[str, Any]:
    if low is not None and high is not None and high - low < MAX_SPELLED_VALUES:
        alternatives = "|".join(str(n) for n in range(int(low), int(high) + 1))
        pattern = f"^0*({alternatives})$" if low > 0 else f"^(0|0*({alternatives}))$"
        return {"type": "string", "pattern": pattern}
    return {"type": "string", "pattern": "^[0-9]+$"}


def field_schema(field: fields.Field) -> dict[str, Any]:
    """The JSON Schema of one parameter field, as strict as the field itself."""
    doc: dict[str, Any]
    low, high = _range(field)
    if isinstance(field, WholeNumber):
        number: dict[str, Any] = {"type": "integer"}
        if low is not None:
            number["minimum"] = low
        if high is not None:
            number["maximum"] = high
        doc = {"oneOf": [number, _numeric_string(low, high)]}  # type: ignore[arg-type]
    elif isinstance(field, DecimalNumber):
        number = {"type": "number"}
        if low is not None:
            number["minimum"] = low
        if high is not None:
            number["maximum"] = high
        # A numeric string's range is checked by the server only: described, not typed.
        doc = {"oneOf": [number, {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}]}
    elif isinstance(field, fields.Date):
        years = "|".join(str(y) for y in range(MIN_YEAR, MAX_YEAR + 1))
        doc = {"type": "string", "format": "date", "pattern": f"^({years})-[0-9]{{2}}-[0-9]{{2}}$"}
    elif isinstance(field, fields.Boolean):
        doc = {"type": "boolean"}
    elif isinstance(field, fields.String):
        doc = {"type": "string"}
        shortest, longest = _length(field)
        if shortest is not None:
            doc["minLength"] = shortest
        if longest is not None:
            doc["maxLength"] = longest
    else:
        doc = {}
    if field.allow_none and field.load_default is None and not field.required:
        doc = {"oneOf": [doc, {"type": "null"}]} if doc else doc
    for key in ("description", "example"):
        if key in field.metadata:
            doc[key] = field.metadata[key]
    return doc


def parameters_schema(schema: Schema) -> dict[str, Any]:
    """The JSON Schema of a report type's parameters (unknown names are refused)."""
    properties, required = {}, []
    for name, field in schema.fields.items():
        key = field.data_key or name
        properties[key] = field_schema(field)
        if field.required:
            required.append(key)
    doc: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        doc["required"] = required
    return doc


def request_schema(types: dict[str, ReportType]) -> dict[str, Any]:
    """`POST /api/reports`: one alternative per report type, each with its parameters."""
    alternatives = []
    for name, rt in types.items():
        params = parameters_schema(rt.schema)
        alternative: dict[str, Any] = {
            "title": rt.title,
            "type": "object",
            "properties": {"reportType": {"const": name}, "parameters": params},
            "required": ["reportType", "parameters"] if "required" in params else ["reportType"],
            "additionalProperties": False,
        }
        if name == "top-products":
            alternative["description"] = (
                "`to` must not be before `from`, and the range may span at most ten years."
            )
        alternatives.append(alternative)
    return {
        "description": "A report type from GET /api/report-types and its parameters",
        "oneOf": alternatives,
        "example": {"reportType": "yearly-sales", "parameters": {"year": "2023"}},
    }
