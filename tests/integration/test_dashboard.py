"""The /ops dashboard in a real headless Chromium against the running stack."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.settings import PROJECT_ROOT
from tests.integration.client import submit
from tests.integration.conftest import OpsStack

pytestmark = pytest.mark.integration

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# The README's picture; refreshed only on request, so test runs leave the tree clean.
SCREENSHOT = PROJECT_ROOT / "docs" / "ops-dashboard.png"
UPDATE_SCREENSHOT = os.environ.get("UPDATE_SCREENSHOT", "") == "1"
# Flags for a root, offline, headless machine.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A Chromium page (skipped off CI when Chromium or playwright is missing)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if IN_CI:
            raise
        pytest.skip("playwright is not installed")
    if not Path(CHROMIUM).exists():
        if IN_CI:
            raise AssertionError(f"no Chromium at {CHROMIUM}; ./dev test installs it as root")
        pytest.skip("Debian's chromium is not installed")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=FLAGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_dashboard_shows_workers_queue_jobs_progress_and_errors(
    ops_stack: OpsStack, page: object, tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    base = ops_stack.base_url
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    # Given some finished jobs, one failed, and a long one running behind a backlog
    done = submit(base, "yearly-sales", {"year": 2023})
    failed = submit(base, "noop", {"steps": 2, "failAtStep": 1})
    failed_id = failed.headers["Location"].split("/")[3]
    ops_stack.wait_for(
        lambda: (
            ops_stack.ops(f"/jobs/{failed_id}").status_code == 200
            and ops_stack.ops(f"/jobs/{failed_id}").json()["state"] == "failed"
        ),
        what="the failed job in the history",
    )
    # (long enough, 12 s each on two workers, that one runs whenever the page is checked)
    long_jobs = [submit(base, "noop", {"steps": 40, "stepSeconds": 0.3}) for _ in range(4)]
    long_ids = [r.headers["Location"].split("/")[3] for r in long_jobs]
    assert done.status_code == 202

    # When an operator opens the dashboard
    page.goto(f"{base}/ops?refresh=1000")

    # Then they see both workers online
    workers = page.get_by_test_id("workers")
    for host in ops_stack.workers:
        expect(workers.locator(f'tr[data-worker="{host}"] .dot.on')).to_be_visible(timeout=15000)
    expect(page.get_by_test_id("workers-online")).to_have_text("2 online")
    # And the backlog in the queue depth
    expect(page.get_by_test_id("queue-depth")).to_have_text(
        re.compile(r"^[1-9]\d* waiting$"), timeout=15000
    )
    # And a running job whose progress bar grows by itself (the page refreshes)
    running = page.locator('#jobs tr[data-state="running"]').first
    expect(running).to_be_visible(timeout=20000)
    running_id = running.get_attribute("data-job")
    assert running_id in long_ids
    running = page.locator(f'#jobs tr[data-job="{running_id}"]')
    bar = running.locator(".bar > div")
    first = float(bar.evaluate("e => parseFloat(e.style.width)"))
    page.wait_for_function(
        f"""() => {{
            const e = document.querySelector('#jobs tr[data-job="{running_id}"] .bar > div');
            return e && parseFloat(e.style.width) > {first};
        }}""",
        timeout=20000,
    )
    # And the succeeded and failed jobs with their states
    expect(page.locator('#jobs tr[data-state="succeeded"]').first).to_be_visible()
    failed_row = page.locator(f'#jobs tr[data-job="{failed_id}"]')
    expect(failed_row.locator(".badge")).to_have_text("failed")
    # And per-type statistics with the failure
    expect(page.locator('#types tr[data-type="report:noop"]')).to_be_visible()
    expect(page.get_by_test_id("throughput-total")).to_contain_text("failed")
    # When they click the failed job, its error appears
    failed_row.click()
    detail = page.get_by_test_id("job-detail")
    expect(detail).to_be_visible()
    expect(page.get_by_test_id("error-detail")).to_contain_text("asked to fail at step 1")
    # The picture for the README (UPDATE_SCREENSHOT=1), else one for the test's own record
    shot = SCREENSHOT if UPDATE_SCREENSHOT else tmp_path / "ops-dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert not errors, errors
    # Leave no long jobs behind for the next tests
    for job_id in long_ids:
        ops_stack.wait_for(
            lambda j=job_id: (
                ops_stack.ops(f"/jobs/{j}").json()["state"] in {"succeeded", "failed", "cancelled"}
            ),
            timeout=120,
            what="the long jobs to finish",
        )
