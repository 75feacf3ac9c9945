"""A scripted HTTP service on 127.0.0.1 that records when each request arrived.

For what the real service cannot be made to do on cue: HTTP-date Retry-After, dropped
connections, a server that ignores or fakes long polls, imports before the server has
them. Tests assert on the recorded arrival times, measured here on the server side.
"""

from __future__ import annotations

import email.utils
import hashlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    """One request as it arrived."""

    at: float  # time.monotonic() when its headers had been read
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Answer:
    """What to answer: a status, a JSON (or raw) body, headers; `hold` seconds first.

    `drop` closes the connection without answering (a connection error for the client).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hold: float = 0.0
    drop: bool = False


Script = Callable[[Seen], Answer]


def http_date(epoch: float) -> str:
    """An IMF-fixdate (the HTTP-date form)."""
    return email.utils.formatdate(epoch, usegmt=True)


def document(job_id: str, status: str = "In Progress", percent: int = 0, **extra: Any) -> dict:
    """A status document of the contract's shape."""
    state = {"In Progress": "running", "Complete": "succeeded", "Failed": "failed"}.get(
        status, "cancelled"
    )
    doc: dict[str, Any] = {
        "id": job_id,
        "reportType": "noop",
        "parameters": {},
        "status": status,
        "state": extra.pop("state", state),
        "progress": {"percent": percent, "current": percent, "total": 100},
        "links": {"self": f"/api/reports/{job_id}/status"},
    }
    if status == "Complete":
        doc["links"]["report"] = f"/api/reports/{job_id}/download"
    doc.update(extra)
    return doc


def etag_of(doc: dict) -> str:
    """A weak ETag of a document."""
    return 'W/"' + hashlib.sha1(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16] + '"'


def status_answer(doc: dict, seen: Seen | None = None, **headers: str) -> Answer:
    """A 200 with the document and its ETag, or 304 when the request names that ETag."""
    tag = etag_of(doc)
    extra = {"ETag": tag, **{k.replace("_", "-"): v for k, v in headers.items()}}
    if seen is not None and seen.headers.get("if-none-match") == tag:
        return Answer(304, None, extra)
    return Answer(200, doc, extra)


def accepted(doc: dict, kind: str = "reports") -> Answer:
    """The 202 of a submission."""
    location = f"/api/{kind}/{doc['id']}/status"
    return Answer(202, doc, {"Location": location, "Retry-After": "1", "ETag": etag_of(doc)})


def new_id() -> str:
    """A job id."""
    return str(uuid.uuid4())


def import_service(job_id: str, polls: int = 1) -> Script:
    """An import job as API.md describes it: In Progress for `polls` reads, then counts."""
    counts = {"rowsRead": 3, "rowsImported": 3, "rowsRejected": 0}
    reads = {"n": 0}

    def script(seen: Seen) -> Answer:
        if seen.method == "POST":
            return accepted(document(job_id, kind="import"), "imports")
        if seen.path.endswith("/errors"):
            # The server's JSON form: an array of {line, column, value, message}
            bad = {"line": 3, "column": "quantity", "value": "0", "message": "must be at least 1"}
            return Answer(200, [bad])
        reads["n"] += 1
        if reads["n"] <= polls:
            return status_answer(document(job_id, kind="import"), seen, Retry_After="0")
        return status_answer(document(job_id, "Complete", 100, kind="import", result=counts), seen)

    return script


CSV = b"sold_at,region,product,category,customer_id,quantity,unit_price\n" + b"".join(
    f"2024-01-0{i}T10:00:00Z,North,Widget,Tools,{i},1,9.99\n".encode() for i in range(1, 4)
)


class FakeService:
    """Serve `script(seen)` for every request; `requests` lists them in arrival order."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def handle_one(self) -> None:
                parts = urlsplit(self.path)
                seen = Seen(
                    time.monotonic(),
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self._body(),
                )
                with service._lock:
                    service.requests.append(seen)
                answer = service.script(seen)
                if answer.hold:
                    time.sleep(answer.hold)
                if answer.drop:
                    self.close_connection = True
                    return
                if isinstance(answer.body, bytes):
                    payload, ctype = answer.body, "application/octet-stream"
                elif answer.body is None:
                    payload, ctype = b"", "application/json"
                else:
                    payload = json.dumps(answer.body).encode()
                    ctype = (
                        "application/problem+json" if answer.status >= 400 else "application/json"
                    )
                self.send_response(answer.status)
                headers = {"Content-Type": ctype, **answer.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                if answer.status != 304:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if answer.status != 304:
                    self.wfile.write(payload)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = bytearray()
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            return bytes(out)
                        out += self.rfile.read(size)
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            do_GET = do_POST = do_DELETE = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)

    def polls(self) -> list[Seen]:
        """The status GETs received so far."""
        with self._lock:
            return [s for s in self.requests if s.method == "GET" and s.path.endswith("/status")]


def gaps(seen: list[Seen]) -> list[float]:
    """Seconds between consecutive arrivals."""
    return [b.at - a.at for a, b in itertools.pairwise(seen)]
