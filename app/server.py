"""The gunicorn worker of the web process: gthread, with bounded request reading and
problem+json for the errors gunicorn answers itself.

gthread reads a request's headers, and the app its body, in a pool thread from a
blocking socket: a client that stops sending mid-request holds that thread for ever.
Here every read of a request waits at most REQUEST_IDLE_TIMEOUT for the next bytes
(and the headers take at most REQUEST_HEADER_TIMEOUT in all), which answers `408`.
The bound is on the time *between* bytes, so a large upload at any steady speed is
never cut off. A request whose bytes do not arrive at once needs one of
SLOW_READER_SLOTS per process while it waits for them (`503` when none is free), so
slow and stalled clients, like long polls (MAX_WAITING_REQUESTS), can never take every
thread: ordinary requests always find one.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, ClassVar

from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers.gthread import ThreadWorker
from werkzeug.exceptions import BadRequest, RequestTimeout, ServiceUnavailable

from app.config import WebSettings
from jobs.problems import problem_type

PROBLEM_JSON = "application/problem+json"
# A packet boundary inside a request is normal; only a longer silence makes it slow.
ARRIVAL_GRACE_SECONDS = 0.1
BUSY_RETRY_AFTER = 5


class ReadTimedOut(RequestTimeout):
    """Raised when a client sends no bytes of its request for too long (408)."""

    description = (
        "The request was not received in time: the client stopped sending it. "
        "Send the whole request without pausing."
    )


class SlowReadersBusy(ServiceUnavailable):
    """Raised when a request must wait for its bytes and no slow-reader slot is free (503)."""

    description = "Too many clients are sending requests slowly right now. Retry shortly."
    data: ClassVar[dict[str, Any]] = {"headers": {"Retry-After": str(BUSY_RETRY_AFTER)}}


class MalformedBody(BadRequest):
    """Raised when the request body's framing is broken (a bad chunk size, say) (400)."""


class BoundedSocket:
    """A client socket whose request reads are bounded in time and in concurrency.

    Phases: `header` (from the first read to the end of the headers), `body` (while
    the app runs), `off` (gunicorn's own reads, such as draining a body afterwards).
    """

    def __init__(self, sock: socket.socket, limits: ReadLimits) -> None:
        self._sock = sock
        self._limits = limits
        self._phase = "header"
        self._header_deadline: float | None = None
        self._holds_slot = False
        self.cut_short = False  # a read of this request was refused: close, do not drain

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def fileno(self) -> int:
        """The underlying descriptor (selectors register it)."""
        return self._sock.fileno()

    def start_request(self) -> None:
        """A new request begins on this connection (headers first)."""
        self._phase, self._header_deadline, self.cut_short = "header", None, False

    def start_body(self) -> None:
        """The headers are in; the app now reads the body."""
        self._phase = "body"

    def finish_request(self) -> None:
        """The app answered: release the slot, leave later reads to gunicorn."""
        self._phase = "off"
        if self._holds_slot:
            self._holds_slot = False
            self._limits.slots.release()

    def shutdown(self, how: int) -> None:
        """Closing begins: later reads are gunicorn's drain, and the slot is free."""
        self.finish_request()
        self._sock.shutdown(how)

    def close(self) -> None:
        """Release the slot whatever ended the request (a client gone mid-headers too)."""
        self.finish_request()
        self._sock.close()

    def recv(self, size: int) -> bytes:
        """Like socket.recv, within the phase's time bound."""
        if self._phase == "off":
            return self._sock.recv(size)
        now = time.monotonic()
        allowed = self._limits.idle
        if self._phase == "header":
            if self._header_deadline is None:
                self._header_deadline = now + self._limits.header
            allowed = min(allowed, self._header_deadline - now)
            if allowed <= 0:  # a trickle keeps bytes coming; the headers' bound still ends
                self.cut_short = True
                raise ReadTimedOut()
        if not self._readable(min(ARRIVAL_GRACE_SECONDS, max(allowed, 0.0))):
            if not self._holds_slot:
                if not self._limits.slots.acquire(blocking=False):
                    self.cut_short = True
                    raise SlowReadersBusy()
                self._holds_slot = True
            if not self._readable(max(allowed - ARRIVAL_GRACE_SECONDS, 0.0)):
                self.cut_short = True
                raise ReadTimedOut()
        return self._sock.recv(size)

    def _readable(self, timeout: float) -> bool:
        poller = select.poll()
        poller.register(self._sock.fileno(), select.POLLIN | select.POLLPRI)
        return bool(poller.poll(timeout * 1000))


class ReadLimits:
    """The time bounds of one process's request reads, and its slow-reader slots."""

    def __init__(self, settings: WebSettings) -> None:
        self.header = float(settings.request_header_timeout)
        self.idle = float(settings.request_idle_timeout)
        self.slots = threading.BoundedSemaphore(settings.slow_reader_slots)


class FramingErrors:
    """WSGI middleware: gunicorn's errors while the app reads a body become 400s."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Run the app with a wsgi.input whose framing errors are HTTP errors."""
        environ["wsgi.input"] = _Input(environ["wsgi.input"])
        return self.app(environ, start_response)


class _Input:
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _guard(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._stream, method)(*args)
        except http_errors.ParseException as exc:
            raise MalformedBody(f"The request body is malformed: {exc}.") from None

    def read(self, *args: Any) -> bytes:
        return bytes(self._guard("read", *args))

    def readline(self, *args: Any) -> bytes:
        return bytes(self._guard("readline", *args))

    def readlines(self, *args: Any) -> list[bytes]:
        return list(self._guard("readlines", *args))

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


# gunicorn's own rejections: (status, title, slug) by exception class, most specific first.
GUNICORN_ERRORS: tuple[tuple[type[BaseException], int, str, str], ...] = (
    (ReadTimedOut, 408, "Request timeout", "request-timeout"),
    (SlowReadersBusy, 503, "Service unavailable", "unavailable"),
    (http_errors.LimitRequestLine, 414, "Request line too long", "uri-too-long"),
    (http_errors.LimitRequestHeaders, 431, "Request headers too large", "headers-too-large"),
    (http_errors.UnsupportedTransferCoding, 501, "Not implemented", "not-implemented"),
    (http_errors.ExpectationFailed, 417, "Expectation failed", "expectation-failed"),
    (http_errors.ForbiddenProxyRequest, 403, "Forbidden", "forbidden"),
    (http_errors.ConfigurationProblem, 500, "Internal server error", "internal-error"),
    (http_errors.InvalidResponseHeader, 500, "Internal server error", "internal-error"),
    (http_errors.InvalidResponseHeaderName, 500, "Internal server error", "internal-error"),
    (http_errors.ParseException, 400, "Malformed request", "malformed-request"),
)


def classify(exc: BaseException) -> tuple[int, str, str]:
    """(status, title, slug) of an error gunicorn meets before or around the app."""
    for cls, status, title, slug in GUNICORN_ERRORS:
        if isinstance(exc, cls):
            return status, title, slug
    return 500, "Internal server error", "internal-error"


def problem_bytes(status: int, title: str, slug: str, detail: str, instance: str) -> bytes:
    """A whole HTTP/1.1 problem+json response that closes the connection."""
    body = json.dumps(
        {
            "type": problem_type(slug),
            "title": title,
            "status": status,
            "detail": detail,
            "instance": instance,
        }
    ).encode()
    head = [f"HTTP/1.1 {status} {title}", f"Content-Type: {PROBLEM_JSON}"]
    if status == 503:
        head.append(f"Retry-After: {BUSY_RETRY_AFTER}")
    head += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(head).encode("latin-1") + body


class ProblemThreadWorker(ThreadWorker):
    """gthread with bounded request reads and problem+json for its own error answers."""

    def init_process(self) -> None:
        """Read the limits (app.config) before the worker starts serving."""
        self.read_limits = ReadLimits(WebSettings.from_env())
        super().init_process()

    def load_wsgi(self) -> None:
        """Wrap the app so body framing errors reach it as 400s."""
        super().load_wsgi()
        self.wsgi = FramingErrors(self.wsgi)  # type: ignore[has-type]

    def enqueue_req(self, conn: Any) -> None:
        """Bound the reads of each request before a pool thread reads it."""
        if not self.cfg.is_ssl:
            if not isinstance(conn.sock, BoundedSocket):
                conn.sock = BoundedSocket(conn.sock, self.read_limits)
            conn.sock.start_request()
        super().enqueue_req(conn)

    def handle_request(self, req: Any, conn: Any) -> bool:
        """Run the app with body reads bounded; gunicorn's later reads are not."""
        sock = conn.sock if isinstance(conn.sock, BoundedSocket) else None
        if sock is not None:
            sock.start_body()
        try:
            keepalive = bool(super().handle_request(req, conn))
            # The rest of a refused body is not worth draining (it may never come).
            return keepalive and not (sock is not None and sock.cut_short)
        finally:
            if sock is not None:
                sock.finish_request()

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Answer what gunicorn rejects itself as problem+json, as the app answers errors."""
        if isinstance(client, BoundedSocket):
            client.finish_request()
        status, title, slug = classify(exc)
        addr = addr or ("", -1)
        if status >= 500 and status != 503:
            self.log.exception("Error handling request %s", getattr(req, "uri", ""))
            detail = "The service failed to handle this request. It has been logged."
        else:
            self.log.warning("Invalid request from ip=%s: %s", addr[0], exc)
            detail = getattr(exc, "description", None) or f"{title}: {exc}"
        req = req or getattr(exc, "req", None)
        instance = getattr(req, "path", None) or "/"
        data = problem_bytes(status, title, slug, detail, instance)
        if req is not None:
            environ = default_environ(req, client, self.cfg)
            environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = addr[0], str(addr[1])
            resp = Response(req, client, self.cfg)
            resp.status = f"{status} {title}"
            resp.response_length = len(data)
            self.log.access(resp, req, environ, timedelta(0))
        try:
            util.write_nonblock(client, data)
        except OSError:
            self.log.debug("Failed to send error message.")
