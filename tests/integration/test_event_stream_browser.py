"""Headless Chromium's EventSource follows a job to its end on our /watch page."""

from __future__ import annotations

import pytest

from devstack.stack import Stack
from tests.integration.client import submit
from tests.integration.test_dashboard import page  # noqa: F401 - the Chromium fixture

pytestmark = pytest.mark.integration


def test_event_source_shows_a_job_to_completion(stack: Stack, page: object) -> None:  # noqa: F811
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Given a job of several steps
    resp = submit(stack.base_url, "noop", {"steps": 5, "stepSeconds": 0.4})
    assert resp.status_code == 202, resp.text
    job = resp.headers["Location"].removesuffix("/status")
    # When a browser opens our watch page on it
    page.goto(f"{stack.base_url}/watch?job={job}")
    # Then EventSource brings its progress and its end, and the page closes the stream
    expect(page.get_by_test_id("status")).to_have_text("Complete", timeout=30000)
    expect(page.get_by_test_id("connection")).to_have_text("finished")
    expect(page.get_by_test_id("bar")).to_have_attribute("style", "width: 100%;")
    events = page.get_by_test_id("events").locator("li").all_inner_texts()
    assert len(events) >= 3 and events[-1].endswith("succeeded 100%"), events
    assert any(" running " in e for e in events), events
    assert page.evaluate("document.body.dataset.done") == "1"
    assert not errors, errors
