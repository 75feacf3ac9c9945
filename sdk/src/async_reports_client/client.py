"""The synchronous client: a driver of the flows over an httpx.Client, and its job handles."""

from __future__ import annotations

import builtins
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx

from async_reports_client import calls, flows, references
from async_reports_client.bodies import FileSource, Sink, Upload
from async_reports_client.calls import Failure, Flow, Notify, Reply, Request, Sleep
from async_reports_client.flows import OperationState
from async_reports_client.handle import Handle
from async_reports_client.policy import MAX_LONG_POLL
from async_reports_client.settings import (
    DEFAULT_RETRY_FOR,
    DEFAULT_TIMEOUT,
    base_url_of,
    config_for,
    headers_for,
)

ProgressCallback = Callable[[dict[str, Any]], object]


class Client:
    """A client of one async-reports service (blocking). Use it as a context manager.

    `base_url` defaults to $ASYNC_REPORTS_URL (else http://127.0.0.1:8000), `api_key`
    to $ASYNC_REPORTS_API_KEY. `timeout` bounds each request (a long poll gets its
    wait on top); waits have no deadline unless given one. `min_poll_interval` and
    `max_poll_interval` clamp every pause between polls; `retry_for` is how long one
    call rides out an unreachable or overloaded service (None: without limit).
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        min_poll_interval: float | None = None,
        max_poll_interval: float | None = None,
        retry_for: float | None = DEFAULT_RETRY_FOR,
        long_poll: int = MAX_LONG_POLL,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url_of(base_url)
        self.config = config_for(min_poll_interval, max_poll_interval, retry_for, long_poll)
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers_for(api_key),
            timeout=timeout,
            transport=transport,
        )
        self.reports = Reports(self)
        self.imports = Imports(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __repr__(self) -> str:
        return f"Client({self.base_url!r})"

    def data(self) -> dict[str, Any]:
        """What reports read now: version, rows, first and last sale, last import."""
        return dict(self.run(calls.get_json("/api/data", self.config)))

    def resume(self, token: str) -> Operation:
        """The handle of a job from `continuation_token()` (or a status URL), no request made."""
        ref = references.parse(token)
        return self.operation(ref.kind, ref.id, ref.status_url)

    def operation(self, kind: str, job_id: str, status_url: str | None = None) -> Operation:
        """The handle of a job of `kind` by id, no request made."""
        url = status_url or references.status_path(kind, job_id)
        return Operation(self, OperationState(kind, job_id, url, self.base_url))

    def run(self, flow: Flow, on_progress: ProgressCallback | None = None) -> Any:
        """Carry out a flow's actions until it returns (this is the driver)."""
        answer: Reply | Failure | None = None
        try:
            while True:
                action = flow.send(answer)
                answer = None
                if isinstance(action, Request):
                    answer = self._send(action)
                elif isinstance(action, Sleep):
                    time.sleep(action.seconds)
                elif isinstance(action, Notify) and on_progress is not None:
                    on_progress(action.document)
        except StopIteration as stop:
            return stop.value

    def _send(self, request: Request) -> Reply | Failure:
        timeout: Any = httpx.USE_CLIENT_DEFAULT
        if request.long_poll:
            timeout = httpx.Timeout(self._timeout, read=self._timeout + request.long_poll)
        written = False
        try:
            content = request.upload.chunks() if request.upload is not None else None
            with self._http.stream(
                request.method,
                request.url,
                headers=dict(request.headers),
                params=dict(request.params) if request.params else None,
                json=request.json,
                content=content,
                timeout=timeout,
            ) as response:
                if response.status_code == 200 and request.sink is not None:
                    with request.sink.open() as out:
                        for chunk in response.iter_bytes():
                            written = True
                            out.write(chunk)
                    return Reply(200, response.headers, b"", response.reason_phrase)
                body = response.read()
                return Reply(response.status_code, response.headers, body, response.reason_phrase)
        except httpx.TransportError as exc:
            fatal = written and request.sink is not None and not request.sink.restartable
            return Failure(exc, fatal=fatal)


class Operation(Handle):
    """A handle on one job: poll it, wait for it, fetch its result, cancel it, resume it later."""

    def __init__(self, client: Client, state: OperationState) -> None:
        super().__init__(state)
        self._client = client

    def status(self) -> dict[str, Any]:
        """One conditional GET of the status; the latest document."""
        return dict(self._client.run(flows.refresh(self._state, self._client.config)))

    def wait(
        self, timeout: float | None = None, on_progress: ProgressCallback | None = None
    ) -> dict[str, Any]:
        """Wait until the job ends; its final document if Complete.

        Raises JobFailed or JobCancelled when it ends otherwise, Timeout when `timeout`
        seconds pass first (the job goes on). `on_progress(document)` is called with
        each new document. Interrupting the wait leaves the job running.
        """
        flow = flows.wait(self._state, self._client.config, timeout, on_progress is None)
        return dict(self._client.run(flow, on_progress))

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the end, then the parsed result: the report, or an import's counts."""
        return self._client.run(flows.result(self._state, self._client.config, timeout))

    def download(
        self,
        path: FileSource,
        format: str = "csv",
        timeout: float | None = None,
    ) -> None:
        """Wait for the end, then stream the report (csv or json) to a path or binary file."""
        flow = flows.download(self._state, Sink(path), format, self._client.config, timeout)
        self._client.run(flow)

    def errors(self) -> builtins.list[dict[str, Any]]:
        """An import's bad rows: `{"line", "column", "value", "message"}` each, in file order."""
        rows: builtins.list[dict[str, Any]] = self._client.run(
            flows.import_errors(self._state, self._client.config)
        )
        return rows

    def cancel(self) -> dict[str, Any] | None:
        """Cancel the job (DELETE); its document, or None if it had ended and is now forgotten."""
        document = self._client.run(flows.cancel(self._state, self._client.config))
        return None if document is None else dict(document)


class Jobs:
    """The caller's jobs of one kind."""

    kind = "report"

    def __init__(self, client: Client) -> None:
        self._client = client

    def get(self, job_id: str) -> Operation:
        """The handle of one job by id (no request made)."""
        return self._client.operation(self.kind, job_id)

    def _list(
        self, status: str | None, page_size: int | None, **filters: str | None
    ) -> Iterator[Operation]:
        url = f"/api/{references.collection_of(self.kind)}"
        cursor: str | None = None
        while True:
            params = flows.list_params(status, page_size, cursor, **filters)
            items, cursor = self._client.run(flows.page(url, params, self._client.config))
            for document in items:
                state = flows.listed(self.kind, document)
                state.base_url = self._client.base_url
                yield Operation(self._client, state)
            if not cursor:
                return

    def _submitted(self, request: Request) -> Operation:
        state = self._client.run(flows.submit(self.kind, request, self._client.config))
        state.base_url = self._client.base_url
        return Operation(self._client, state)


class Reports(Jobs):
    """Report jobs: `client.reports`."""

    kind = "report"

    def submit(
        self,
        report_type: str,
        /,
        parameters: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> Operation:
        """Submit a report; its handle. Retries resend one Idempotency-Key: one job, always."""
        key = idempotency_key or str(uuid.uuid4())
        request = flows.report_submission(report_type, {**(parameters or {}), **params}, key)
        return self._submitted(request)

    def types(self) -> builtins.list[dict[str, Any]]:
        """The catalogue: each type's name, description, parameter schema and columns."""
        body = self._client.run(calls.get_json("/api/report-types", self._client.config))
        return list(body.get("items", []))

    def list(
        self,
        status: str | None = None,
        *,
        report_type: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Operation]:
        """The caller's report jobs, newest first, following `next` from page to page."""
        return self._list(status, page_size, reportType=report_type)


class Imports(Jobs):
    """Import jobs: `client.imports`."""

    kind = "import"

    def submit(
        self,
        file: FileSource,
        max_bad_rows: int = 0,
        *,
        gzip: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Operation:
        """Upload a CSV file (a path or a binary file), streamed; its handle.

        `gzip=None` sends a gzip file as such (`Content-Encoding: gzip`) and a plain one
        plain; `True` compresses a plain file on the way; `False` never says gzip.
        """
        key = idempotency_key or str(uuid.uuid4())
        request = flows.import_submission(Upload.of(file, gzip), max_bad_rows, key)
        return self._submitted(request)

    def list(
        self, status: str | None = None, *, page_size: int | None = None
    ) -> Iterator[Operation]:
        """The caller's import jobs, newest first, following `next` from page to page."""
        return self._list(status, page_size)
