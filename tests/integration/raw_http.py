"""HTTP over a raw socket, for requests no HTTP client library would send: stalled and
trickled uploads, malformed framing, and reading whatever the server answers."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from devstack.stack import Stack

PROBLEM = b"application/problem+json"
STALLED_UPLOAD = (
    b"POST /api/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b'Content-Length: 100\r\n\r\n{"reportType"'
)


def connect(stack: Stack, timeout: float = 30.0) -> socket.socket:
    """A fresh connection to the stack's web process."""
    url = urlsplit(stack.base_url)
    return socket.create_connection((url.hostname, url.port), timeout=timeout)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one response (the server closes or sends a length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def exchange(stack: Stack, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `raw` on a fresh connection; the one response read back."""
    with connect(stack) as sock:
        sock.sendall(raw)
        return read_response(sock)


def raw_exchange(stack: Stack, data: bytes, timeout: float = 10.0) -> bytes:
    """Send bytes on a fresh connection; everything the server answers before closing."""
    with connect(stack, timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                break
        return b"".join(chunks)


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return False
