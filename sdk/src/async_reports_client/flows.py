"""Every API call of the SDK as a flow: a generator of the actions in `calls.py`.

Submitting, reading the status, waiting (long polls, Retry-After, backoff, deadlines),
cancelling, fetching results: all the logic, none of the I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from async_reports_client import errors, policy
from async_reports_client.bodies import Sink, Upload
from async_reports_client.calls import (
    Attempts,
    Config,
    Flow,
    Notify,
    Reply,
    Request,
    Sleep,
    call,
    get_json,
    retry_after_of,
)
from async_reports_client.references import Reference, collection_of, parse, status_path


@dataclass
class OperationState:
    """What a handle knows of its job: where it is, and the latest document and ETag."""

    kind: str
    id: str
    status_url: str
    base_url: str | None = None
    document: dict[str, Any] | None = None
    etag: str | None = None

    @classmethod
    def of(cls, ref: Reference) -> OperationState:
        """The state of a job known only by reference."""
        return cls(ref.kind, ref.id, ref.status_url, ref.base_url)

    @property
    def reference(self) -> Reference:
        """This job as a Reference (for continuation tokens)."""
        return Reference(self.kind, self.id, self.status_url, self.base_url)

    @property
    def terminal(self) -> bool:
        """True once the latest document says the job has ended."""
        return self.document is not None and self.document.get("status") in (
            errors.TERMINAL_STATUSES
        )

    def link(self, name: str, suffix: str) -> str:
        """A link of the latest document, else the contract's path `/api/{kind}s/{id}{suffix}`."""
        links = (self.document or {}).get("links")
        if isinstance(links, Mapping) and isinstance(links.get(name), str):
            return str(links[name])
        return f"/api/{collection_of(self.kind)}/{self.id}{suffix}"

    def take(self, reply: Reply) -> bool:
        """Record a 200 status answer (not a 304); True when the document changed."""
        if reply.status == 304:
            return False
        document = reply.json()
        if not isinstance(document, dict):
            raise errors.ServerError("The status answer was not a JSON object.", status=200)
        self.etag = reply.headers.get("ETag") or None
        changed = document != self.document
        self.document = document
        if isinstance(document.get("kind"), str):
            self.kind = document["kind"]
        return changed


def submitted(kind: str, reply: Reply) -> OperationState:
    """The state of a job from the answer to its submission (202, or 200 when finished)."""
    document = reply.json()
    location = reply.headers.get("Location")
    if location:
        ref = parse(location, kind)
        ref_kind, job_id, url = ref.kind, ref.id, location
    else:
        ref_kind, job_id = kind, str(document["id"])
        url = status_path(kind, job_id)
    state = OperationState(str(document.get("kind") or ref_kind), job_id, url)
    state.take(reply)
    return state


def report_submission(
    report_type: str, parameters: Mapping[str, Any], idempotency_key: str
) -> Request:
    """The POST of a report job (API.md, "Submitting a job")."""
    headers = {"Accept": "application/json", "Idempotency-Key": idempotency_key}
    body = {"reportType": report_type, "parameters": dict(parameters)}
    return Request("POST", "/api/reports", headers, json=body)


def import_submission(upload: Upload, max_bad_rows: int, idempotency_key: str) -> Request:
    """The POST of an import job: the CSV streamed as the body (API.md, "Imports")."""
    headers = {
        "Accept": "application/json",
        "Content-Type": "text/csv",
        "Idempotency-Key": idempotency_key,
    }
    if upload.encoded:
        headers["Content-Encoding"] = "gzip"
    if upload.size is not None:
        headers["Content-Length"] = str(upload.size)
    params = {"maxBadRows": str(max_bad_rows)}
    return Request("POST", "/api/imports", headers, params, upload=upload)


def list_params(
    status: str | None, page_size: int | None, cursor: str | None, **filters: str | None
) -> dict[str, str]:
    """The query of one listing page; filters by their API names (e.g. reportType)."""
    given = {"status": status, "limit": page_size, "cursor": cursor, **filters}
    return {name: str(value) for name, value in given.items() if value is not None}


def submit(kind: str, request: Request, config: Config) -> Flow:
    """POST a job (its Request carries its Idempotency-Key); return its state."""
    reply = yield from call(request, config, retry_conflict=True)
    return submitted(kind, reply)


def refresh(state: OperationState, config: Config, deadline: float | None = None) -> Flow:
    """One conditional GET of the status (If-None-Match); return the latest document."""
    headers = {"Accept": "application/json"}
    if state.etag:
        headers["If-None-Match"] = state.etag
    reply = yield from call(Request("GET", state.status_url, headers), config, deadline)
    state.take(reply)
    return state.document


def wait(
    state: OperationState,
    config: Config,
    timeout: float | None = None,
    only_state_changes: bool = False,
) -> Flow:
    """Poll until the job ends; return its document if Complete, else raise its outcome.

    Long polls (`Prefer: wait=N` + `If-None-Match`) while the server says it honours
    them (`Preference-Applied`), else the server's Retry-After clamped to the caller's
    bounds, else jittered backoff. Every new document is yielded as `Notify`. No
    deadline unless `timeout` (seconds) is given. A service that answers 429 teaches
    the wait its minimum spacing between polls, so it is not told twice.
    """
    clock, rules = config.clock, config.policy
    deadline = None if timeout is None else clock.monotonic() + timeout
    if state.document is not None:
        yield Notify(state.document)
        if state.terminal:
            return errors.outcome(state.document)
    attempt = 0
    spacing = 0.0  # the least time between polls the service enforces (learned from 429s)
    last_sent: float | None = None
    while True:
        remaining = None if deadline is None else deadline - clock.monotonic()
        asked = rules.long_poll_seconds(remaining)
        headers = {"Accept": "application/json"}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if asked:
            headers["Prefer"] = policy.prefer_header(asked, only_state_changes)
        request = Request("GET", state.status_url, headers, long_poll=asked)
        attempts = Attempts()
        try:
            reply = yield from call(request, config, deadline, attempts=attempts)
        except errors.Timeout:
            raise _timed_out(state, timeout) from None
        if attempts.rate_limited and last_sent is not None:
            spacing = max(spacing, attempts.sent[-1] - last_sent)
        last_sent = attempts.sent[-1]
        held = clock.monotonic() - last_sent  # how long the answered attempt took
        changed = state.take(reply)
        if changed and state.document is not None:
            attempt = 0
            yield Notify(state.document)
        if state.terminal and state.document is not None:
            return errors.outcome(state.document)
        applied = policy.applied_wait(reply.headers.get("Preference-Applied"))
        # A long poll that came back with news, or after holding for its time, can be
        # followed at once; one that came back early with nothing is not a long poll.
        if applied and (changed or held + 1 >= applied):
            delay = 0.0
        else:
            hint = retry_after_of(reply, clock)
            delay = rules.poll_delay(hint, attempt, config.rng)
            if hint is None:
                attempt += 1
        since_sent = clock.monotonic() - last_sent
        delay = max(delay, rules.gap_after(since_sent), spacing - since_sent)
        if deadline is not None:
            left = deadline - clock.monotonic()
            if left <= 0:
                raise _timed_out(state, timeout)
            delay = min(delay, left)
        if delay > 0:
            yield Sleep(delay)


def _timed_out(state: OperationState, timeout: float | None) -> errors.Timeout:
    doc = state.document or {}
    return errors.Timeout(
        f"Job {state.id} was still {doc.get('state') or 'unfinished'} after {timeout:g} s "
        "(it goes on running).",
        document=state.document,
    )


def cancel(state: OperationState, config: Config) -> Flow:
    """DELETE the job: cancel it while unfinished (its new document) or forget it (None)."""
    request = Request("DELETE", state.link("cancel", ""), {"Accept": "application/json"})
    reply = yield from call(request, config)
    if reply.status == 204:
        return None
    state.take(reply)
    return state.document


def result(state: OperationState, config: Config, timeout: float | None = None) -> Flow:
    """Wait for the end, then the parsed result: a report's JSON, an import's `result`."""
    yield from wait(state, config, timeout, only_state_changes=True)
    if state.kind == "report":
        url = state.link("report", "/download")
        return (yield from get_json(url, config))
    return dict((state.document or {}).get("result") or {})


def download(
    state: OperationState, sink: Sink, fmt: str, config: Config, timeout: float | None = None
) -> Flow:
    """Wait for the end, then stream the report in `fmt` (csv or json) into `sink`."""
    if fmt not in ("csv", "json"):
        raise ValueError("format must be 'csv' or 'json'")
    yield from wait(state, config, timeout, only_state_changes=True)
    accept = "text/csv" if fmt == "csv" else "application/json"
    request = Request(
        "GET", state.link("report", "/download"), {"Accept": accept}, {"format": fmt}, sink=sink
    )
    yield from call(request, config)


def import_errors(state: OperationState, config: Config) -> Flow:
    """The bad rows of an import: the JSON form of its errors resource, a list of
    `{"line", "column", "value", "message"}` in file order (empty when none were bad)."""
    body = yield from get_json(state.link("errors", "/errors"), config)
    if isinstance(body, Mapping):  # tolerate a wrapped list (`{"items": [...]}`)
        body = body.get("items", [])
    return [dict(row) for row in body if isinstance(row, Mapping)] if isinstance(body, list) else []


def page(url: str, params: Mapping[str, str], config: Config) -> Flow:
    """One page of a listing: (documents, next cursor or None)."""
    body = yield from get_json(url, config, params)
    items = [item for item in body.get("items", []) if isinstance(item, dict)]
    return items, body.get("next") or None


def listed(kind: str, document: dict[str, Any]) -> OperationState:
    """The state of a job from its document in a listing."""
    job_id = str(document["id"])
    links = document.get("links")
    url = links.get("self") if isinstance(links, Mapping) else None
    kind = str(document.get("kind") or kind)
    return OperationState(kind, job_id, str(url or status_path(kind, job_id)), document=document)
