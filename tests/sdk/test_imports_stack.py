"""The SDK's imports against the real stack (gunicorn, Celery, Redis, a SQLite of its own):
`client.imports.submit(file)`, waiting, the result's counts and `errors()`."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from async_reports_client import Client, JobFailed, console
from devstack.stack import Stack
from tests.conftest import seeded_database
from tests.integration.imports import csv_text, rows_in
from tests.integration.stacks import extra_stack
from tests.sdk.conftest import run_cli

IMPORTS_DB = 10  # a database of the session's Redis no other test uses


@pytest.fixture(scope="module")
def imports_stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Stack]:
    """web + worker on a sales database of this module's own (imports change it)."""
    tmp = tmp_path_factory.mktemp("sdk-imports")
    with (
        seeded_database("sqlite", tmp, rows=1000) as url,
        extra_stack(tmp / "stack", redis_url, IMPORTS_DB, url, {}) as stack,
    ):
        yield stack


def write(tmp_path: Path, rows: list[list[str]], name: str = "sales.csv") -> Path:
    path = tmp_path / name
    path.write_text(csv_text(rows))
    return path


def test_an_import_completes_with_its_counts_and_no_errors(
    imports_stack: Stack, tmp_path: Path
) -> None:
    path = write(tmp_path, rows_in(2041, 200))
    seen: list[dict[str, Any]] = []
    with Client(imports_stack.base_url) as client:
        op = client.imports.submit(path)
        assert op.kind == "import"
        final = op.wait(on_progress=seen.append)
        counts = op.result()
        bad = op.errors()
    assert final["status"] == "Complete" and final["progress"]["unit"] == "rows"
    assert (counts["rowsRead"], counts["rowsImported"], counts["rowsRejected"]) == (200, 200, 0)
    assert counts["firstSoldAt"].startswith("2041-")
    assert bad == []
    assert seen and seen[-1]["status"] == "Complete"


def test_bad_rows_within_the_limit_are_listed_by_errors(
    imports_stack: Stack, tmp_path: Path
) -> None:
    rows = rows_in(2042, 6)
    rows[1][5] = "0"  # quantity below 1: line 3 (the header is line 1)
    rows[4][0] = "yesterday"  # not a timestamp: line 6
    with Client(imports_stack.base_url) as client:
        op = client.imports.submit(write(tmp_path, rows), max_bad_rows=2)
        counts = op.result()
        bad = op.errors()
    assert (counts["rowsImported"], counts["rowsRejected"]) == (4, 2)
    assert [(e["line"], e["column"], e["value"]) for e in bad] == [
        (3, "quantity", "0"),
        (6, "sold_at", "yesterday"),
    ]
    assert all(isinstance(e["message"], str) and e["message"] for e in bad)


def test_too_many_bad_rows_raise_job_failed_and_errors_still_list_them(
    imports_stack: Stack, tmp_path: Path
) -> None:
    rows = rows_in(2043, 10)
    for i in (0, 4, 9):
        rows[i][4] = "-5"  # customer_id must be positive
    with Client(imports_stack.base_url) as client:
        op = client.imports.submit(write(tmp_path, rows))
        with pytest.raises(JobFailed) as failed:
            op.result()
        bad = op.errors()
    assert failed.value.problem["type"].endswith("/too-many-bad-rows")
    assert "3 of 10" in str(failed.value)
    assert [e["line"] for e in bad] == [2, 6, 11]


@pytest.mark.parametrize("how", ["compressed on the way", "a gzip file"])
def test_gzip_uploads_import_the_same_rows(imports_stack: Stack, tmp_path: Path, how: str) -> None:
    year = 2044 if how == "a gzip file" else 2045
    plain = write(tmp_path, rows_in(year, 50))
    with Client(imports_stack.base_url) as client:
        if how == "a gzip file":
            packed = tmp_path / "sales.csv.gz"
            packed.write_bytes(gzip.compress(plain.read_bytes()))
            op = client.imports.submit(packed)
        else:
            op = client.imports.submit(plain, gzip=True)
        counts = op.result()
    assert (counts["rowsRead"], counts["rowsImported"]) == (50, 50)


def test_an_import_resumes_from_its_token_in_another_client(
    imports_stack: Stack, tmp_path: Path
) -> None:
    with Client(imports_stack.base_url) as client:
        token = client.imports.submit(write(tmp_path, rows_in(2046, 20))).continuation_token()
    with Client(imports_stack.base_url) as other:
        op = other.resume(token)
        assert op.kind == "import"
        assert op.result()["rowsImported"] == 20


def test_the_cli_imports_a_file_and_shows_its_bad_rows(
    imports_stack: Stack, tmp_path: Path
) -> None:
    rows = rows_in(2047, 5)
    rows[2][5] = "0"  # line 4
    path = write(tmp_path, rows)
    done = run_cli(
        imports_stack.base_url, "import", str(path), "--max-bad-rows", "1", "--wait", "--json"
    )
    assert done.returncode == console.EXIT_OK, done.stderr
    assert '"rowsImported": 4' in done.stdout
    job_id = json.loads(done.stdout.splitlines()[0])["id"]
    bad = run_cli(imports_stack.base_url, "errors", job_id, "--json")
    assert bad.returncode == console.EXIT_OK, bad.stderr
    assert [(e["line"], e["column"]) for e in json.loads(bad.stdout)] == [(4, "quantity")]
