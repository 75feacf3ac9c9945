"""The `async-reports` CLI as a person uses it: on a terminal, piped, and by its exit codes."""

from __future__ import annotations

import json
import re
import shlex
import uuid
from pathlib import Path

import pytest

from async_reports_client import Client, JobCancelled, console
from devstack.stack import Stack, free_port
from tests.sdk.conftest import CLI, cli_env, run_cli
from tests.sdk.fake_service import CSV, FakeService, import_service, new_id
from tests.sdk.terminal import Terminal, plain

pytestmark = [pytest.mark.sdk, pytest.mark.integration]

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
RESUME = re.compile(r"async-reports wait (arop1\.[A-Za-z0-9_-]+)")


def percents_in(text: str) -> list[int]:
    """The percentages a bar showed, in the order they first appeared."""
    seen: list[int] = []
    for match in re.findall(r"(\d{1,3})%", plain(text)):
        if int(match) not in seen:
            seen.append(int(match))
    return seen


def test_on_a_terminal_the_bar_renders_and_advances(stack: Stack) -> None:
    # Given a terminal, When we submit and wait for a job of six 1.2 s steps (progress is
    # answered at most once a second: README, "Long polls")
    term = Terminal(
        ["submit", "noop", "steps=6", "stepSeconds=1.2", "--wait"], cli_env(stack.base_url)
    )
    code, text = term.finish()
    # Then a bar was drawn (rich's bar glyphs, redrawn in place) with state and ETA
    assert code == console.EXIT_OK, plain(text)
    assert "━" in text and "\x1b[" in text
    assert "running" in plain(text) and "ETA" in plain(text)
    # And it advanced: several percentages, rising, up to 100
    shown = percents_in(text)
    assert shown == sorted(shown) and shown[-1] == 100, shown
    assert len([p for p in shown if 0 < p < 100]) >= 3, shown
    assert "Traceback" not in text


def test_ctrl_c_stops_the_wait_prints_the_resume_command_and_leaves_the_job(
    stack: Stack,
) -> None:
    # Given a long job being waited for on a terminal, its bar past 0%
    term = Terminal(
        ["submit", "noop", "steps=40", "stepSeconds=0.2", "--wait"], cli_env(stack.base_url)
    )
    term.read_until(lambda t: any(0 < p < 100 for p in percents_in(t)))
    # When the person presses Ctrl-C
    term.send(b"\x03")
    code, text = term.finish()
    # Then the CLI exits "interrupted" and says how to resume, without a traceback
    assert code == console.EXIT_INTERRUPTED, plain(text)
    assert "Traceback" not in text
    found = RESUME.search(plain(text))
    assert found, plain(text)
    # And the job goes on running
    with Client(stack.base_url) as client:
        op = client.resume(found.group(1))
        assert op.status()["status"] == "In Progress"
    # And the printed command, run as printed, picks the wait up and sees the end
    command = shlex.split(found.group(0))
    assert command[0] == "async-reports"
    done = run_cli(stack.base_url, *command[1:])
    assert done.returncode == console.EXIT_OK, done.stderr
    assert done.stdout.strip().splitlines()[-1].endswith("Complete (succeeded) 100%")


def test_ctrl_c_with_cancel_on_interrupt_cancels_the_job(stack: Stack) -> None:
    args = ["submit", "noop", "steps=100", "stepSeconds=0.2", "--wait", "--cancel-on-interrupt"]
    term = Terminal(args, cli_env(stack.base_url))
    term.read_until(lambda t: re.search(f"Submitted report ({UUID})", t))
    term.read_until(lambda t: "running" in plain(t))
    term.send(b"\x03")
    code, text = term.finish()
    assert code == console.EXIT_INTERRUPTED, plain(text)
    job_id = re.search(f"Submitted report ({UUID})", text).group(1)  # type: ignore[union-attr]
    assert f"cancelled report {job_id}" in plain(text)
    with Client(stack.base_url) as client, pytest.raises(JobCancelled):
        client.reports.get(job_id).wait(timeout=60)


def test_piped_there_is_no_bar_only_plain_lines(stack: Stack) -> None:
    # (3 s of work: a shorter job, queued behind a loaded machine, can go from queued to
    # succeeded between two answers, and the running line this test looks for is not printed)
    done = run_cli(stack.base_url, "submit", "noop", "steps=3", "stepSeconds=1.0", "--wait")
    assert done.returncode == console.EXIT_OK, done.stderr
    assert "\x1b" not in done.stdout and "\r" not in done.stdout and "━" not in done.stdout
    lines = done.stdout.splitlines()
    assert all(
        re.fullmatch(f"{UUID} (In Progress|Complete) \\(\\w+\\) \\d+%.*", ln) for ln in lines
    )
    assert lines[-1].endswith("Complete (succeeded) 100%") and len(lines) >= 3


def test_with_json_every_line_is_a_status_document(stack: Stack) -> None:
    done = run_cli(
        stack.base_url, "--json", "submit", "noop", "steps=2", "stepSeconds=0.2", "--wait"
    )
    assert done.returncode == console.EXIT_OK, done.stderr
    documents = [json.loads(line) for line in done.stdout.splitlines()]
    assert documents[-1]["status"] == "Complete"
    assert len({d["id"] for d in documents}) == 1


def test_exit_codes(stack: Stack) -> None:
    url = stack.base_url
    # failed: the problem's detail, no traceback
    failed = run_cli(url, "submit", "noop", "failAtStep=1", "--wait")
    assert failed.returncode == console.EXIT_FAILED
    assert "asked to fail at step 1" in failed.stderr and "Traceback" not in failed.stderr
    # cancelled
    with Client(url) as client:
        op = client.reports.submit("noop", steps=100, stepSeconds=0.2)
        op.cancel()
    assert run_cli(url, "wait", op.id).returncode == console.EXIT_CANCELLED
    # not found
    missing = run_cli(url, "status", str(uuid.uuid4()))
    assert missing.returncode == console.EXIT_NOT_FOUND and "There is no job" in missing.stderr
    # usage: the command line, and requests the service rejects
    assert run_cli(url, "submit").returncode == console.EXIT_USAGE
    assert run_cli(url, "submit", "noop", "steps").returncode == console.EXIT_USAGE
    assert run_cli(url, "status", "not an id").returncode == console.EXIT_USAGE
    rejected = run_cli(url, "submit", "noop", "steps=-1")
    assert rejected.returncode == console.EXIT_USAGE and "parameters.steps" in rejected.stderr
    # timeout: our deadline, the job goes on
    with Client(url) as client:
        slow = client.reports.submit("noop", steps=50, stepSeconds=0.2)
    timed_out = run_cli(url, "--timeout", "1", "wait", slow.id)
    assert timed_out.returncode == console.EXIT_TIMEOUT and "goes on running" in timed_out.stderr
    # unavailable: nobody listens
    gone = run_cli(f"http://127.0.0.1:{free_port()}", "--retry-for", "1", "types")
    assert gone.returncode == console.EXIT_UNAVAILABLE and "could not be reached" in gone.stderr
    for done in (failed, missing, rejected, timed_out, gone):
        assert "Traceback" not in done.stderr


def test_a_job_is_named_by_id_token_or_status_url(stack: Stack, tmp_path: Path) -> None:
    with Client(stack.base_url) as client:
        op = client.reports.submit("noop", steps=2)
        op.wait()
    status_url = f"{stack.base_url}/api/reports/{op.id}/status"
    for name in (op.id, op.continuation_token(), status_url):
        shown = run_cli(stack.base_url, "status", name)
        assert shown.returncode == 0 and f"report {op.id}: Complete" in shown.stdout
    # a token or URL carries its service: no --url needed (nor a wrong one from the env)
    elsewhere = run_cli(f"http://127.0.0.1:{free_port()}", "status", status_url)
    assert elsewhere.returncode == 0
    # download: to stdout, or to a file
    as_json = run_cli(stack.base_url, "download", op.id, "--format", "json")
    assert json.loads(as_json.stdout)["summary"] == {"steps": 2}
    saved = run_cli(stack.base_url, "download", op.id, "--output", str(tmp_path / "r.csv"))
    assert saved.returncode == 0 and (tmp_path / "r.csv").read_text().startswith("step")
    listed = run_cli(stack.base_url, "list", "--status", "Complete", "--limit", "5")
    assert listed.returncode == 0 and 1 <= len(listed.stdout.splitlines()) <= 5
    types = run_cli(stack.base_url, "types")
    assert "yearly-sales" in types.stdout and "year (required)" in types.stdout


def test_import_uploads_and_waits(tmp_path: Path) -> None:
    # imports arrive on the server later: the CLI is checked against API.md's shape
    path = tmp_path / "sales.csv"
    path.write_bytes(CSV)
    with FakeService(import_service(new_id())) as service:
        done = run_cli(service.url, "import", str(path), "--max-bad-rows", "2", "--wait")
        post = service.requests[0]
    assert done.returncode == console.EXIT_OK, done.stderr
    assert '"rowsImported": 3' in done.stdout
    assert post.query == {"maxBadRows": ["2"]} and post.body == CSV
    missing = run_cli("http://127.0.0.1:1", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == console.EXIT_USAGE and "cannot read" in missing.stderr


def test_the_console_script_is_installed() -> None:
    assert CLI[-1] == "async_reports_client"
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "async-reports"]
    assert script.value == "async_reports_client.cli:main"
