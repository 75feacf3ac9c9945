"""Web process configuration: defaults plus environment variables (listed in the README)."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from jobs.settings import Settings, env_bool, env_float, env_int


def parse_keys(raw: str) -> dict[str, str]:
    """`API_KEYS="alice:s3cret,bob:t0ken"` (or bare keys) -> {key: client name}."""
    keys: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, key = item.partition(":")
        if not sep:
            name, key = "client-" + hashlib.sha256(item.encode()).hexdigest()[:8], item
        keys[key] = name
    return keys


def load_config(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Everything create_app() reads, as a Flask config mapping."""
    env = dict(os.environ if environ is None else environ)
    settings = Settings.from_env(env)
    return {
        "SETTINGS": settings,
        "API_KEYS": parse_keys(env.get("API_KEYS", "")),
        "ADMIN_KEYS": parse_keys(env.get("ADMIN_API_KEYS", "")),
        "PUBLIC_API_DOCS": env_bool("PUBLIC_API_DOCS", False, env),
        "MAX_CONTENT_LENGTH": env_int("MAX_REQUEST_BYTES", 16 * 1024, env),
        "MIN_POLL_INTERVAL": env_float("MIN_POLL_INTERVAL_SECONDS", 0.0, env),
        "MAX_WAIT_SECONDS": env_int("MAX_WAIT_SECONDS", 60, env),
        # Per web process: 3/4 of its threads may wait in long polls, the rest stay free.
        "MAX_WAITING_REQUESTS": env_int(
            "MAX_WAITING_REQUESTS", max(1, env_int("WEB_THREADS", 64, env) * 3 // 4), env
        ),
        "API_TITLE": "async-reports",
        "API_VERSION": "1.0.0",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        # Swagger UI's files are served by the app itself (app/openapi.py): no CDN.
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
        "ETAG_DISABLED": True,  # our ETags are computed per status document
        "JSON_SORT_KEYS": False,
    }
