"""Web process configuration: defaults plus environment variables (listed in the README).

gunicorn.conf.py reads its process settings from here too, so each variable is read in
one place with one default.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from jobs.env import load, var
from jobs.settings import Settings


def parse_keys(raw: str) -> dict[str, str]:
    """`API_KEYS="alice:s3cret,bob:t0ken"` (or bare keys) -> {key: client name}."""
    keys: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, key = item.partition(":")
        if not sep:
            name, key = "client-" + hashlib.sha256(item.encode()).hexdigest()[:8], item
        keys[key] = name
    return keys


@dataclass(frozen=True)
class WebSettings:
    """How the web process runs (gunicorn) and what its API allows."""

    port: int = var("PORT", 8000)
    web_concurrency: int = var("WEB_CONCURRENCY", 2)
    web_threads: int = var("WEB_THREADS", 64)
    web_worker_class: str = var("WEB_WORKER_CLASS", "gthread")
    web_timeout: int = var("WEB_TIMEOUT", 90)
    forwarded_allow_ips: str = var("FORWARDED_ALLOW_IPS", "127.0.0.1")
    api_keys: str = var("API_KEYS", "")
    admin_api_keys: str = var("ADMIN_API_KEYS", "")
    public_api_docs: bool = var("PUBLIC_API_DOCS", False)
    max_request_bytes: int = var("MAX_REQUEST_BYTES", 16 * 1024)
    min_poll_interval: float = var("MIN_POLL_INTERVAL_SECONDS", 0.0)
    max_wait_seconds: int = var("MAX_WAIT_SECONDS", 60)
    # 0: 3/4 of the threads of a process may wait in long polls, the rest stay free.
    max_waiting_requests: int = var("MAX_WAITING_REQUESTS", 0)
    # A request's reads wait at most this long for the next bytes (408 after), the
    # headers at most REQUEST_HEADER_TIMEOUT in all (app/server.py).
    request_idle_timeout: float = var("REQUEST_IDLE_TIMEOUT", 10.0)
    request_header_timeout: float = var("REQUEST_HEADER_TIMEOUT", 10.0)
    # 0: 1/8 of the threads of a process may wait for a slow client's bytes at once.
    max_slow_readers: int = var("MAX_SLOW_READERS", 0)
    # An event stream ends after this long (holding a waiting slot); EventSource reconnects.
    max_stream_seconds: int = var("MAX_STREAM_SECONDS", 300)
    # A comment line this often keeps proxies from closing a quiet stream, and shows
    # the server a client that went away (its slot is then freed).
    stream_keepalive_seconds: float = var("STREAM_KEEPALIVE_SECONDS", 15.0)

    @property
    def waiting_slots(self) -> int:
        """Requests of one web process that may wait (long polls) at once."""
        return self.max_waiting_requests or max(1, self.web_threads * 3 // 4)

    @property
    def slow_reader_slots(self) -> int:
        """Requests of one web process that may wait for their own bytes at once."""
        return self.max_slow_readers or max(1, self.web_threads // 8)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> WebSettings:
        """Build web settings from environment variables."""
        return load(cls, environ)


def load_config(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Everything create_app() reads, as a Flask config mapping."""
    web = WebSettings.from_env(environ)
    return {
        "SETTINGS": Settings.from_env(environ),
        "WEB": web,
        "API_KEYS": parse_keys(web.api_keys),
        "ADMIN_KEYS": parse_keys(web.admin_api_keys),
        "PUBLIC_API_DOCS": web.public_api_docs,
        "MAX_CONTENT_LENGTH": web.max_request_bytes,
        "MIN_POLL_INTERVAL": web.min_poll_interval,
        "MAX_WAIT_SECONDS": web.max_wait_seconds,
        "MAX_WAITING_REQUESTS": web.waiting_slots,
        "MAX_STREAM_SECONDS": web.max_stream_seconds,
        "STREAM_KEEPALIVE_SECONDS": web.stream_keepalive_seconds,
        "API_TITLE": "async-reports",
        "API_VERSION": "1.0.0",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        # Swagger UI's files are served by the app itself (app/http/openapi.py): no CDN.
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
        "ETAG_DISABLED": True,  # our ETags are computed per status document
        "JSON_SORT_KEYS": False,
    }
