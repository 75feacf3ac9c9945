"""The asyncio client: the same flows driven over an httpx.AsyncClient, and its job handles."""

from __future__ import annotations

import asyncio
import builtins
import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
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

AsyncProgressCallback = Callable[[dict[str, Any]], Awaitable[object] | object]


class AsyncClient:
    """The asyncio twin of `Client`: the same arguments, every call awaited."""

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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url_of(base_url)
        self.config = config_for(min_poll_interval, max_poll_interval, retry_for, long_poll)
        self._timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers_for(api_key),
            timeout=timeout,
            transport=transport,
        )
        self.reports = AsyncReports(self)
        self.imports = AsyncImports(self)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient({self.base_url!r})"

    async def data(self) -> dict[str, Any]:
        """What reports read now: version, rows, first and last sale, last import."""
        return dict(await self.run(calls.get_json("/api/data", self.config)))

    def resume(self, token: str) -> AsyncOperation:
        """The handle of a job from `continuation_token()` (or a status URL), no request made."""
        ref = references.parse(token)
        return self.operation(ref.kind, ref.id, ref.status_url)

    def operation(self, kind: str, job_id: str, status_url: str | None = None) -> AsyncOperation:
        """The handle of a job of `kind` by id, no request made."""
        url = status_url or references.status_path(kind, job_id)
        return AsyncOperation(self, OperationState(kind, job_id, url, self.base_url))

    async def run(self, flow: Flow, on_progress: AsyncProgressCallback | None = None) -> Any:
        """Carry out a flow's actions until it returns (this is the driver)."""
        answer: Reply | Failure | None = None
        try:
            while True:
                action = flow.send(answer)
                answer = None
                if isinstance(action, Request):
                    answer = await self._send(action)
                elif isinstance(action, Sleep):
                    await asyncio.sleep(action.seconds)
                elif isinstance(action, Notify) and on_progress is not None:
                    outcome = on_progress(action.document)
                    if inspect.isawaitable(outcome):
                        await outcome
        except StopIteration as stop:
            return stop.value

    async def _send(self, request: Request) -> Reply | Failure:
        timeout: Any = httpx.USE_CLIENT_DEFAULT
        if request.long_poll:
            timeout = httpx.Timeout(self._timeout, read=self._timeout + request.long_poll)
        written = False
        try:
            content = _in_thread(request.upload.chunks()) if request.upload is not None else None
            async with self._http.stream(
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
                        async for chunk in response.aiter_bytes():
                            written = True
                            out.write(chunk)
                    return Reply(200, response.headers, b"", response.reason_phrase)
                body = await response.aread()
                return Reply(response.status_code, response.headers, body, response.reason_phrase)
        except httpx.TransportError as exc:
            fatal = written and request.sink is not None and not request.sink.restartable
            return Failure(exc, fatal=fatal)


async def _in_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """A file's chunks read (and compressed) off the event loop."""
    while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
        yield chunk


class AsyncOperation(Handle):
    """The asyncio twin of `Operation`."""

    def __init__(self, client: AsyncClient, state: OperationState) -> None:
        super().__init__(state)
        self._client = client

    async def status(self) -> dict[str, Any]:
        """One conditional GET of the status; the latest document."""
        return dict(await self._client.run(flows.refresh(self._state, self._client.config)))

    async def wait(
        self, timeout: float | None = None, on_progress: AsyncProgressCallback | None = None
    ) -> dict[str, Any]:
        """Wait until the job ends (see `Operation.wait`); the callback may be async."""
        flow = flows.wait(self._state, self._client.config, timeout, on_progress is None)
        return dict(await self._client.run(flow, on_progress))

    async def result(self, timeout: float | None = None) -> Any:
        """Wait for the end, then the parsed result: the report, or an import's counts."""
        return await self._client.run(flows.result(self._state, self._client.config, timeout))

    async def download(
        self, path: FileSource, format: str = "csv", timeout: float | None = None
    ) -> None:
        """Wait for the end, then stream the report (csv or json) to a path or binary file."""
        flow = flows.download(self._state, Sink(path), format, self._client.config, timeout)
        await self._client.run(flow)

    async def errors(self) -> builtins.list[dict[str, Any]]:
        """An import's bad rows: `{"line", "column", "value", "message"}` each, in file order."""
        rows: builtins.list[dict[str, Any]] = await self._client.run(
            flows.import_errors(self._state, self._client.config)
        )
        return rows

    async def cancel(self) -> dict[str, Any] | None:
        """Cancel the job (DELETE); its document, or None if it had ended and is now forgotten."""
        document = await self._client.run(flows.cancel(self._state, self._client.config))
        return None if document is None else dict(document)


class AsyncJobs:
    """The caller's jobs of one kind."""

    kind = "report"

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def get(self, job_id: str) -> AsyncOperation:
        """The handle of one job by id (no request made)."""
        return self._client.operation(self.kind, job_id)

    async def _list(
        self, status: str | None, page_size: int | None, **filters: str | None
    ) -> AsyncIterator[AsyncOperation]:
        url = f"/api/{references.collection_of(self.kind)}"
        cursor: str | None = None
        while True:
            params = flows.list_params(status, page_size, cursor, **filters)
            items, cursor = await self._client.run(flows.page(url, params, self._client.config))
            for document in items:
                state = flows.listed(self.kind, document)
                state.base_url = self._client.base_url
                yield AsyncOperation(self._client, state)
            if not cursor:
                return

    async def _submitted(self, request: Request) -> AsyncOperation:
        state = await self._client.run(flows.submit(self.kind, request, self._client.config))
        state.base_url = self._client.base_url
        return AsyncOperation(self._client, state)


class AsyncReports(AsyncJobs):
    """Report jobs: `client.reports`."""

    kind = "report"

    async def submit(
        self,
        report_type: str,
        /,
        parameters: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> AsyncOperation:
        """Submit a report; its handle. Retries resend one Idempotency-Key: one job, always."""
        key = idempotency_key or str(uuid.uuid4())
        request = flows.report_submission(report_type, {**(parameters or {}), **params}, key)
        return await self._submitted(request)

    async def types(self) -> builtins.list[dict[str, Any]]:
        """The catalogue: each type's name, description, parameter schema and columns."""
        body = await self._client.run(calls.get_json("/api/report-types", self._client.config))
        return list(body.get("items", []))

    def list(
        self,
        status: str | None = None,
        *,
        report_type: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[AsyncOperation]:
        """The caller's report jobs, newest first (`async for`), page after page."""
        return self._list(status, page_size, reportType=report_type)


class AsyncImports(AsyncJobs):
    """Import jobs: `client.imports`."""

    kind = "import"

    async def submit(
        self,
        file: FileSource,
        max_bad_rows: int = 0,
        *,
        gzip: bool | None = None,
        idempotency_key: str | None = None,
    ) -> AsyncOperation:
        """Upload a CSV file, streamed (see `Imports.submit`); its handle."""
        key = idempotency_key or str(uuid.uuid4())
        request = flows.import_submission(Upload.of(file, gzip), max_bad_rows, key)
        return await self._submitted(request)

    def list(
        self, status: str | None = None, *, page_size: int | None = None
    ) -> AsyncIterator[AsyncOperation]:
        """The caller's import jobs, newest first (`async for`), page after page."""
        return self._list(status, page_size)
