"""A loader killed with SIGKILL at any point leaves `sales` as it was; a rerun completes once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from sales.loader import run_import
from sales.seed import seed
from tests.sales.conftest import stage
from tests.sales.test_loader import generated_csv, import_counter

pytestmark = pytest.mark.faults
REPO = Path(__file__).resolve().parents[2]
# The loader in a process of its own that stops where the test will kill it: during the
# row checks (after 10,000 rows), or in the final transaction right after the rows went
# into `sales` and before the commit.
CHILD = textwrap.dedent(
    """
    import pathlib, sys, time
    from sqlalchemy import event
    from sales.db import make_engine
    from sales.loader import run_import

    url, import_id, where, marker = sys.argv[1:]
    engine = make_engine(url)

    def halt():
        pathlib.Path(marker).write_text("here")
        time.sleep(600)

    def progress(rows, _done, _total):
        if where == "checking" and rows >= 10_000:
            halt()

    @event.listens_for(engine, "after_cursor_execute")
    def after(_conn, _cursor, statement, *_):
        if where == "committing" and statement.startswith("INSERT INTO sales "):
            halt()

    run_import(engine, import_id, on_progress=progress)
    """
)


@pytest.mark.parametrize("where", ["checking", "committing"])
def test_a_killed_loader_changes_nothing_and_a_rerun_completes_once(
    engine: Engine, database_url: str, tmp_path: Path, where: str, summary: Callable[[], Any]
) -> None:
    # Given seeded data and a staged import of 20,000 rows
    seed(engine, 300)
    body, _ = generated_csv(20_000)
    import_id = stage(engine, body)
    before, version = summary(), import_counter(engine)
    # When its loader is killed mid-way
    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, database_url, import_id, where, str(marker)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "the loader ended before reaching its stop"
            assert time.monotonic() < deadline, "the loader never reached its stop"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    # Then sales and its version are exactly as they were
    assert summary() == before and import_counter(engine) == version
    # And the redelivered import adds every row, once
    outcome = run_import(engine, import_id)
    assert outcome.rows_imported == 20_000
    assert run_import(engine, import_id) == outcome
    assert summary()[0] == before[0] + 20_000
