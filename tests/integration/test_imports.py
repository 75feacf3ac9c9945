"""Imports through the real processes (gunicorn, Celery, Redis) on SQLite and PostgreSQL:
counts, bad rows, header checks, gzip, limits, cancel, ownership, listing, idempotency."""

from __future__ import annotations

import gzip
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from jobs.store.keys import Keys
from tests.integration.imports import (
    HEADER,
    ImportStack,
    count_rows,
    csv_lines,
    csv_text,
    import_stack,
    post_import,
    rows_in,
    staged,
    wait_done,
    year_range,
)

pytestmark = pytest.mark.integration

ALICE = {"Authorization": "Bearer alice-key"}
BOB = {"Authorization": "Bearer bob-key"}
DBS = {"sqlite": 14, "postgres": 15}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def imp(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[ImportStack]:
    tmp = tmp_path_factory.mktemp(f"imports-{request.param}")
    env = {"API_KEYS": "alice:alice-key,bob:bob-key", "TASK_SOFT_TIME_LIMIT": "300"}
    with import_stack(tmp, request.param, redis_url, DBS[request.param], env) as stack:
        yield stack


def test_an_import_completes_with_counts_and_reports_include_its_rows(imp: ImportStack) -> None:
    # Given the data as it is, and a file of 500 rows sold in 2031
    before = requests.get(f"{imp.base}/api/data", headers=ALICE, timeout=10).json()
    body = csv_text(rows_in(2031, 500))
    # When it is imported as the README shows (curl --data-binary, Content-Type: text/csv)
    resp = post_import(imp.base, body, ALICE)
    # Then it is accepted with a Location, and completes with the counts
    assert resp.status_code == 202, resp.text
    assert resp.headers["Location"] == f"/api/imports/{resp.json()['id']}/status"
    assert resp.json()["kind"] == "import" and resp.json()["parameters"] == {"maxBadRows": 0}
    done = wait_done(imp.base, resp.headers["Location"], ALICE)
    assert done["status"] == "Complete", done
    result = done["result"]
    assert (result["rowsRead"], result["rowsImported"], result["rowsRejected"]) == (500, 500, 0)
    assert result["firstSoldAt"].startswith("2031-") and result["lastSoldAt"].startswith("2031-")
    assert done["progress"]["unit"] == "rows" and done["progress"]["current"] == 500
    assert done["errorsURL"] == done["links"]["errors"]
    # And the data says so: 500 more rows, a new version, this import as the last one
    after = requests.get(f"{imp.base}/api/data", headers=ALICE, timeout=10).json()
    assert after["rows"] == before["rows"] + 500 and after["version"] != before["version"]
    assert after["lastImport"]["id"] == done["id"]
    assert count_rows(imp.database_url, year_range(2031)) == 500
    # And a report over 2031 includes exactly these rows
    report = requests.post(
        f"{imp.base}/api/reports",
        json={"reportType": "yearly-sales", "parameters": {"year": 2031}},
        headers={"Prefer": "wait=30", **ALICE},
        timeout=60,
    )
    assert report.status_code == 200, report.text
    download = requests.get(imp.base + report.json()["reportURL"], headers=ALICE, timeout=10)
    assert download.json()["summary"]["orders"] == 500
    # And nothing is left staged
    assert staged(imp.database_url) == 0


def test_bad_rows_within_max_bad_rows_are_skipped_and_listed_by_line(imp: ImportStack) -> None:
    # Given a file whose lines 3 and 6 are bad (the header is line 1)
    rows = rows_in(2032, 6)
    rows[1][5] = "0"  # quantity below 1
    rows[4][0] = "yesterday"  # not a timestamp
    # When it is imported allowing two bad rows
    resp = post_import(imp.base, csv_text(rows), ALICE, {"maxBadRows": "2"})
    done = wait_done(imp.base, resp.headers["Location"], ALICE)
    # Then the good rows are in and the bad ones listed with their line and column
    assert done["status"] == "Complete", done
    assert done["result"]["rowsImported"] == 4 and done["result"]["rowsRejected"] == 2
    errors = requests.get(imp.base + done["errorsURL"], headers=ALICE, timeout=10)
    assert errors.headers["Content-Type"].startswith("text/csv")
    lines = errors.text.strip().splitlines()
    assert lines[0] == "line,column,value,message"
    assert [line.split(",")[:2] for line in lines[1:]] == [["3", "quantity"], ["6", "sold_at"]]
    as_json = requests.get(
        imp.base + done["errorsURL"], headers={"Accept": "application/json", **ALICE}, timeout=10
    ).json()
    assert [(e["line"], e["column"], e["value"]) for e in as_json] == [
        (3, "quantity", "0"),
        (6, "sold_at", "yesterday"),
    ]
    assert all(e["message"] for e in as_json)
    assert count_rows(imp.database_url, year_range(2032)) == 4


def test_too_many_bad_rows_fail_the_import_and_change_nothing(imp: ImportStack) -> None:
    # Given a file with three bad rows, and the default maxBadRows of 0
    rows = rows_in(2033, 10)
    for i in (0, 4, 9):
        rows[i][4] = "-5"  # customer_id must be positive
    before = count_rows(imp.database_url)
    # When it is imported
    resp = post_import(imp.base, csv_text(rows), ALICE)
    done = wait_done(imp.base, resp.headers["Location"], ALICE)
    # Then it fails saying how many, the table is unchanged, and the errors list them
    assert done["status"] == "Failed", done
    assert (
        done["error"]["type"].endswith("/too-many-bad-rows")
        and "3 of 10" in done["error"]["detail"]
    )
    assert count_rows(imp.database_url) == before
    errors = requests.get(imp.base + done["links"]["errors"], headers=ALICE, timeout=10)
    assert [line.split(",")[0] for line in errors.text.strip().splitlines()[1:]] == ["2", "6", "11"]


@pytest.mark.parametrize(
    ("header", "named"),
    [
        (tuple(c for c in HEADER if c != "quantity"), {"quantity"}),
        ((*HEADER, "colour"), {"colour"}),
    ],
)
def test_a_header_with_a_missing_or_unknown_column_is_422_and_leaves_nothing(
    imp: ImportStack, header: tuple[str, ...], named: set[str]
) -> None:
    # Given a header that lacks a required column, or names an unknown one
    body = csv_text([], header) + "2031-01-01 10:00:00,North,Tent 2P,Outdoor,1,1,10.00\n"
    jobs_before = set(imp.redis.scan_iter(Keys().job("*")))
    # When it is uploaded
    resp = post_import(imp.base, body, ALICE)
    # Then it is a 422 naming the columns, and nothing was created or staged
    assert resp.status_code == 422, resp.text
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert named <= set(resp.json()["errors"])
    assert set(imp.redis.scan_iter(Keys().job("*"))) == jobs_before
    assert staged(imp.database_url) == 0


def test_gzip_is_accepted_and_broken_gzip_is_400(imp: ImportStack) -> None:
    body = csv_text(rows_in(2034, 50))
    ok = post_import(imp.base, body, ALICE, gzipped=True)
    assert ok.status_code == 202, ok.text
    assert wait_done(imp.base, ok.headers["Location"], ALICE)["result"]["rowsImported"] == 50
    broken = gzip.compress(body.encode())[:-30]
    bad = post_import(imp.base, broken, {"Content-Encoding": "gzip", **ALICE})
    assert bad.status_code == 400 and "gzip" in bad.json()["detail"]
    empty = post_import(imp.base, b"", ALICE)
    assert empty.status_code == 400
    not_csv = requests.post(f"{imp.base}/api/imports", json={"a": 1}, headers=ALICE, timeout=10)
    assert not_csv.status_code == 415
    assert staged(imp.database_url) == 0


def test_imports_are_owned_listed_and_idempotent(imp: ImportStack) -> None:
    # Given an import of alice's, made with an Idempotency-Key
    body = csv_text(rows_in(2035, 20))
    key = {"Idempotency-Key": str(uuid.uuid4()), **ALICE}
    first = post_import(imp.base, body, key)
    # When the same request is repeated, and the key is used for another file
    again = post_import(imp.base, body, key)
    other = post_import(imp.base, csv_text(rows_in(2035, 21)), key)
    # Then the repeat is the same job, the other file a 422
    assert first.status_code == again.status_code == 202
    assert first.headers["Location"] == again.headers["Location"]
    assert other.status_code == 422
    done = wait_done(imp.base, first.headers["Location"], ALICE)
    assert done["result"]["rowsImported"] == 20
    assert count_rows(imp.database_url, year_range(2035)) == 20
    # And bob cannot see it, while alice lists it among her imports (not among reports)
    assert (
        requests.get(imp.base + first.headers["Location"], headers=BOB, timeout=10).status_code
        == 404
    )
    listed = requests.get(f"{imp.base}/api/imports", headers=ALICE, timeout=10).json()
    assert done["id"] in [d["id"] for d in listed["items"]]
    assert all(d["kind"] == "import" for d in listed["items"])
    reports = requests.get(f"{imp.base}/api/reports", headers=ALICE, timeout=10).json()
    assert done["id"] not in [d["id"] for d in reports["items"]]
    # And a forgotten import is gone, with its bad-row list
    assert (
        requests.delete(
            f"{imp.base}/api/imports/{done['id']}", headers=ALICE, timeout=10
        ).status_code
        == 204
    )
    assert (
        requests.get(imp.base + first.headers["Location"], headers=ALICE, timeout=10).status_code
        == 410
    )


def test_a_cancelled_import_changes_nothing(imp: ImportStack) -> None:
    # Given a large import running, in the first half of its file (its rows are checked
    # in steps that can stop it; the last step, merging them in, cannot be cut short)
    before = count_rows(imp.database_url)
    resp = post_import(imp.base, csv_lines(2036, 600_000), ALICE)
    assert resp.status_code == 202, resp.text
    location = resp.headers["Location"]
    # (plain polls 20 times a second: a long poll may hold progress answers back for
    # seconds, by which time a fast import is past its last step and cannot be stopped)
    for _ in range(3000):
        doc = requests.get(imp.base + location, headers=ALICE, timeout=30).json()
        progress = doc.get("progress") or {}
        if doc["status"] != "In Progress" or (
            doc["state"] == "running"
            and progress.get("current", 0) > 0
            and progress.get("percent", 0) < 50
        ):
            break
        time.sleep(0.05)
    assert doc["status"] == "In Progress", f"the import ended before it could be cancelled: {doc}"
    # When it is cancelled mid-way
    cancel = requests.delete(
        f"{imp.base}/api/imports/{resp.json()['id']}", headers=ALICE, timeout=10
    )
    assert cancel.status_code in (202, 204)
    done = wait_done(imp.base, location, ALICE)
    # Then it ends Cancelled and the sales table is exactly as it was
    assert done["status"] == "Cancelled", done
    assert count_rows(imp.database_url) == before
    assert count_rows(imp.database_url, year_range(2036)) == 0


@pytest.mark.timeout(900)
def test_a_million_rows_import_completes(imp: ImportStack) -> None:
    # Given a file of 1,000,000 rows, streamed as it is made
    before = count_rows(imp.database_url)
    resp = post_import(imp.base, csv_lines(2037, 1_000_000), ALICE)
    assert resp.status_code == 202, resp.text
    # When it is imported
    done = wait_done(imp.base, resp.headers["Location"], ALICE, timeout=600)
    # Then every row is in, once
    assert done["status"] == "Complete", done
    assert done["result"]["rowsImported"] == 1_000_000
    assert count_rows(imp.database_url) == before + 1_000_000
    assert count_rows(imp.database_url, year_range(2037)) == 1_000_000
