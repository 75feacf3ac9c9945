"""A webhook receiver on 127.0.0.1 for the tests: scripted answers, every request kept."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    answered: int | None = None  # the status code it was given (None while waiting)

    @property
    def event(self) -> dict[str, Any]:
        """The JSON body."""
        return json.loads(self.body)

    def verify(self, secret: str) -> dict[str, Any]:
        """The body, once the standardwebhooks library accepted its signature."""
        return Webhook(secret).verify(self.body, self.headers)

    def verifies(self, secret: str) -> bool:
        """True when the signature is valid under `secret`."""
        try:
            self.verify(secret)
        except WebhookVerificationError:
            return False
        return True


@dataclass
class Receiver:
    """Answers each path from its script (a list of status codes; the last repeats)."""

    scripts: dict[str, list[int]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)  # seconds before answering
    received: list[Received] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        """The URL of one of its paths."""
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str) -> int:
        """The next status code for `path` (200 when unscripted)."""
        with self.lock:
            script = self.scripts.get(path.split("?")[0], [200])
            served = sum(1 for r in self.received if r.path == path)
            return script[min(served - 1, len(script) - 1)]

    def ids_at(self, path: str) -> dict[str, list[Received]]:
        """The requests to one path, by webhook-id."""
        out: dict[str, list[Received]] = {}
        for r in self.at(path):
            out.setdefault(r.headers["webhook-id"], []).append(r)
        return out

    def at(self, path: str) -> list[Received]:
        """The requests made to one path."""
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait_for(
        self, test: Callable[[], bool], timeout: float = 30.0, what: str = "deliveries"
    ) -> None:
        """Wait until `test()` holds (bounded); fail with what was received."""
        deadline = time.monotonic() + timeout
        while not test():
            assert time.monotonic() < deadline, f"no {what} after {timeout}s: {self.received}"
            time.sleep(0.05)


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 (a free port) for the block's duration."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            got = Received(
                self.path, dict(self.headers.items()), self.rfile.read(length), time.time()
            )
            with receiver.lock:
                receiver.received.append(got)
            delay = receiver.delays.get(self.path, 0.0)
            if delay:
                time.sleep(delay)
            code = receiver.answer(self.path)
            got.answered = code
            self.send_response(code)
            if code in (429, 503):
                self.send_header("Retry-After", "1")
            if 300 <= code < 400:
                self.send_header("Location", receiver.url("/redirected"))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
