"""Schemathesis against our own /api/openapi.json: generated and malformed requests at
every operation; no 5xx, and every response matches the documented status codes,
content types, headers and schemas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from devstack.stack import Stack
from tests.integration.stacks import extra_stack

pytestmark = pytest.mark.integration

FUZZ_DB = 4
MAX_EXAMPLES = 25  # per operation and mode: keeps the whole run to well under a minute


@pytest.fixture(scope="module")
def fuzz_stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[Stack]:
    """web + worker as deployed (no diagnostic reports), on a database of its own."""
    with extra_stack(tmp_path_factory.mktemp("fuzz"), redis_url, FUZZ_DB, sqlite_url, {}) as s:
        yield s


@pytest.fixture(scope="module")
def api_schema(fuzz_stack: Stack) -> schemathesis.BaseSchema:
    """Our published OpenAPI document, loaded from the running server."""
    schema = schemathesis.openapi.from_url(f"{fuzz_stack.base_url}/api/openapi.json")
    schema.config.update(base_url=fuzz_stack.base_url)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=True,
        database="none",
    )
    return schema


OPERATIONS = [
    ("GET", "/api/reports"),
    ("POST", "/api/reports"),
    ("DELETE", "/api/reports/{job_id}"),
    ("GET", "/api/reports/{job_id}/status"),
    ("GET", "/api/reports/{job_id}/download"),
    ("GET", "/api/report-types"),
    ("GET", "/api/reports/{job_id}/events"),
    ("GET", "/api/reports/{job_id}/webhooks"),
    ("POST", "/api/reports/{job_id}/webhooks/{delivery_id}/retry"),
    ("GET", "/api/webhooks/secret"),
    ("POST", "/api/webhooks/secret/rotate"),
]
NO_INPUT = {
    ("GET", "/api/report-types"),
    ("GET", "/api/webhooks/secret"),
    ("POST", "/api/webhooks/secret/rotate"),
}


# schemathesis' own pytest loader (from_fixture) does not run under pytest 9, so each
# operation's Hypothesis strategy is driven here directly.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_operation_conforms_to_its_documentation(
    api_schema: schemathesis.BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    if mode is GenerationMode.NEGATIVE and (method, path) in NO_INPUT:
        pytest.skip("nothing to make invalid: the operation takes no input")

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        # Every check but "schema-valid data is accepted": the schema cannot say which
        # cursors this server issued, nor each report type's parameters (they depend on
        # reportType and on cross-field rules), so valid-looking data may rightly be 422.
        case.call_and_validate(timeout=30, excluded_checks=[positive_data_acceptance])

    check()


def test_the_document_covers_every_route(fuzz_stack: Stack) -> None:
    spec = requests.get(f"{fuzz_stack.base_url}/api/openapi.json", timeout=10).json()
    operations = {
        (m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m != "parameters"
    }
    # The ops API (/api/ops/..., admin only) is documented too; its own tests cover it.
    assert {op for op in operations if op[1].startswith("/api/ops/")} >= {
        ("GET", "/api/ops/workers"),
        ("GET", "/api/ops/stats"),
        ("POST", "/api/ops/jobs/{job_id}/cancel"),
    }
    assert {op for op in operations if not op[1].startswith("/api/ops/")} == {
        ("GET", "/api/reports"),
        ("POST", "/api/reports"),
        ("DELETE", "/api/reports/{job_id}"),
        ("GET", "/api/reports/{job_id}/status"),
        ("GET", "/api/reports/{job_id}/download"),
        ("GET", "/api/report-types"),
        ("GET", "/api/imports"),
        ("POST", "/api/imports"),
        ("DELETE", "/api/imports/{job_id}"),
        ("GET", "/api/imports/{job_id}/status"),
        ("GET", "/api/imports/{job_id}/errors"),
        ("GET", "/api/data"),
        ("GET", "/api/imports/{job_id}/events"),
        ("GET", "/api/imports/{job_id}/webhooks"),
        ("POST", "/api/imports/{job_id}/webhooks/{delivery_id}/retry"),
        ("GET", "/api/reports/{job_id}/events"),
        ("GET", "/api/reports/{job_id}/webhooks"),
        ("POST", "/api/reports/{job_id}/webhooks/{delivery_id}/retry"),
        ("GET", "/api/webhooks/secret"),
        ("POST", "/api/webhooks/secret/rotate"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
    }
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method == "parameters":
                continue
            for code, response in op["responses"].items():
                if code.startswith(("4", "5")):
                    ref = response["$ref"].rsplit("/", 1)[-1]
                    content = spec["components"]["responses"][ref]["content"]
                    assert list(content) == ["application/problem+json"], (method, path, code)
