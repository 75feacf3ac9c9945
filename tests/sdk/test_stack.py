"""The SDK against the real stack: gunicorn, a Celery worker and Redis from the Procfile."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from async_reports_client import (
    AsyncClient,
    Client,
    Gone,
    InvalidRequest,
    JobCancelled,
    JobFailed,
    NotFound,
)
from devstack.stack import Stack
from tests.sdk.fake_service import Answer, FakeService, Seen

pytestmark = [pytest.mark.sdk, pytest.mark.integration]


def test_wait_reports_progress_as_it_grows(client: Client) -> None:
    # Given a job of five steps of 1.2 s (the service answers progress at most once a
    # second, coalescing faster steps: README, "Long polls")
    op = client.reports.submit("noop", steps=5, stepSeconds=1.2)
    seen: list[dict[str, Any]] = []
    # When we wait with a progress callback
    final = op.wait(on_progress=seen.append)
    # Then the callback saw the percent climb, step by step, and the end
    percents = [d["progress"]["percent"] for d in seen]
    assert percents == sorted(percents), percents
    assert len(set(percents) - {0, 100}) >= 3, percents
    assert seen[0]["state"] == "queued" and seen[-1]["state"] == "succeeded"
    assert any("estimatedTimeRemaining" in d for d in seen)
    assert final["status"] == "Complete" and final == seen[-1] and op.done


def test_a_report_downloads_as_json_and_as_csv(client: Client, tmp_path: Path) -> None:
    op = client.reports.submit("yearly-sales", year=2023)
    report = op.result()
    op.download(tmp_path / "r.json", format="json")
    op.download(tmp_path / "r.csv")
    assert json.loads((tmp_path / "r.json").read_text()) == report
    assert len(report["months"]) == 12
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert [r["month"] for r in rows] == [m["month"] for m in report["months"]]
    # And nothing half-written is left beside the files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.json"]


def test_parameters_that_are_not_identifiers_go_in_a_mapping(client: Client) -> None:
    op = client.reports.submit("top-products", {"from": "2023-01-01", "to": "2023-03-31"}, limit=3)
    assert len(op.result()["products"]) == 3


def test_cancelling_a_running_job_ends_it_cancelled(client: Client) -> None:
    # Given a long job that has started
    op = client.reports.submit("noop", steps=200, stepSeconds=0.1)
    deadline = time.monotonic() + 30
    while op.status()["state"] != "running":
        assert time.monotonic() < deadline, op.document
        time.sleep(0.1)
    # When we cancel it (the job, not just our wait)
    assert op.cancel() is not None
    # Then waiting raises JobCancelled, and the job ended Cancelled
    with pytest.raises(JobCancelled) as raised:
        op.wait(timeout=60)
    assert raised.value.document["status"] == "Cancelled"
    assert op.status()["state"] == "cancelled"


def test_a_wait_resumes_from_a_token_in_another_process(stack: Stack, client: Client) -> None:
    # Given a job submitted here, and its continuation token
    op = client.reports.submit("noop", steps=4, stepSeconds=0.3)
    token = op.continuation_token()
    assert op.id not in token  # opaque: it encodes more than the id
    # When another Python process resumes it from the token alone and waits
    script = textwrap.dedent(
        """
        import json, sys
        from async_reports_client import Client
        with Client(sys.argv[1]) as client:
            op = client.resume(sys.argv[2])
            print(json.dumps({"id": op.id, "kind": op.kind, "final": op.wait()}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, stack.base_url, token],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # Then it followed the same job to its end
    answer = json.loads(out.stdout)
    assert answer["id"] == op.id and answer["kind"] == "report"
    assert answer["final"]["status"] == "Complete"


def test_a_failed_job_raises_job_failed_with_its_problem(client: Client) -> None:
    op = client.reports.submit("noop", steps=3, failAtStep=2)
    with pytest.raises(JobFailed) as raised:
        op.wait()
    assert "fail at step 2" in raised.value.problem["detail"]
    assert raised.value.problem["type"] and raised.value.problem["title"]
    assert raised.value.document["status"] == "Failed"
    assert str(raised.value) == raised.value.problem["detail"]
    with pytest.raises(JobFailed):
        op.result()


def test_a_finished_job_cancelled_is_forgotten(client: Client) -> None:
    op = client.reports.submit("noop", steps=1)
    op.wait()
    assert op.cancel() is None  # 204: forgotten
    with pytest.raises(Gone):
        op.status()


def test_the_services_problems_become_typed_errors(client: Client) -> None:
    with pytest.raises(NotFound) as missing:
        client.reports.get(str(uuid.uuid4())).status()
    assert "There is no job" in str(missing.value)
    with pytest.raises(NotFound):
        client.reports.get("not-a-uuid").wait()
    with pytest.raises(InvalidRequest) as invalid:
        client.reports.submit("noop", steps=-1)
    assert list(invalid.value.errors) == ["parameters.steps"]
    with pytest.raises(InvalidRequest) as unknown:
        client.reports.submit("no-such-report")
    assert "reportType" in unknown.value.errors


def test_listing_follows_next_from_page_to_page(client: Client) -> None:
    made = {client.reports.submit("noop", steps=1).id for _ in range(3)}
    listed = [op.id for op in client.reports.list(report_type="noop", page_size=2)]
    assert made <= set(listed) and len(listed) == len(set(listed)) > 2
    assert {t["name"] for t in client.reports.types()} >= {"yearly-sales", "noop"}


def forwarding(upstream: str, drop_first_post: list[str]) -> Any:
    """A proxy to the real service that loses the answer to the first POST it forwards."""
    names = {"content-type", "idempotency-key", "accept", "prefer", "if-none-match"}

    def script(seen: Seen) -> Answer:
        answer = httpx.request(
            seen.method,
            upstream + seen.path,
            params={k: v[0] for k, v in seen.query.items()},
            headers={k: v for k, v in seen.headers.items() if k in names},
            content=seen.body,
            timeout=30,
        )
        if seen.method == "POST" and not drop_first_post:
            drop_first_post.append(answer.json()["id"])
            return Answer(drop=True)  # the job was made; its answer never arrives
        keep = {"content-type", "location", "etag", "retry-after", "preference-applied"}
        headers = {k: v for k, v in answer.headers.items() if k in keep}
        return Answer(answer.status_code, answer.content, headers)

    return script


def test_a_submit_whose_answer_is_lost_makes_one_job(stack: Stack, client: Client) -> None:
    # Given a connection that breaks after the service made the job, before its answer
    before = {op.id for op in client.reports.list()}
    made: list[str] = []
    with FakeService(forwarding(stack.base_url, made)) as proxy, Client(proxy.url) as via:
        # When the SDK submits through it (and so retries)
        op = via.reports.submit("noop", steps=1)
        posts = [s for s in proxy.requests if s.method == "POST"]
    # Then the retry carried the same Idempotency-Key and got the job the first attempt made
    assert len(posts) == 2
    assert posts[0].headers["idempotency-key"] == posts[1].headers["idempotency-key"]
    assert op.id == made[0]
    # And the service holds exactly one new job
    assert {o.id for o in client.reports.list()} - before == {op.id}


def test_the_async_client_against_the_stack(stack: Stack, tmp_path: Path) -> None:
    async def main() -> tuple[list[int], Any]:
        seen: list[int] = []
        async with AsyncClient(stack.base_url) as client:
            # steps slower than the service's 1 s coalescing of progress answers
            op = await client.reports.submit("noop", steps=4, stepSeconds=1.2)
            await op.wait(on_progress=lambda d: seen.append(d["progress"]["percent"]))
            await op.download(tmp_path / "r.csv")
            ids = [o.id async for o in client.reports.list(page_size=1) if o.id == op.id]
            return seen, (await op.result(), ids == [op.id])

    seen, (report, listed) = asyncio.run(main())
    assert seen == sorted(seen) and seen[-1] == 100 and len(set(seen)) >= 3
    assert report["summary"] == {"steps": 4} and listed
    assert (tmp_path / "r.csv").read_text().splitlines()[0] == "step"
