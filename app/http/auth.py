"""API keys: who is calling (`Authorization: Bearer <key>`), and who may see monitoring."""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

from app.http.problems import Problem

log = logging.getLogger(__name__)

OPEN_CLIENT = "public"
REALM = "async-reports"
# API.md: with keys configured, *every* /api request needs one, the OpenAPI document
# included. PUBLIC_API_DOCS=1 opens just the document and its page (a browser cannot
# send a header for a page) for deployments that want that.
DOCS_PATHS = ("/api/openapi.json", "/api/docs")
# The ops API checks for an admin key itself (app/ops.py), not for a client key.
ADMIN_PATHS = ("/api/ops",)

F = TypeVar("F", bound=Callable[..., Any])


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def client_for(token: str | None, keys: dict[str, str]) -> str | None:
    """The client name a token belongs to (compared in constant time), else None."""
    if token is None:
        return None
    found = None
    for key, name in keys.items():
        if hmac.compare_digest(key.encode(), token.encode()):
            found = name
    return found


def unauthorized(detail: str, invalid: bool) -> Problem:
    """A 401 with the challenge RFC 6750 asks for."""
    challenge = f'Bearer realm="{REALM}"'
    if invalid:
        challenge += ', error="invalid_token"'
    return Problem(401, detail, headers={"WWW-Authenticate": challenge})


def authenticate(keys: dict[str, str]) -> str:
    """The calling client's name; raises a 401 Problem without a valid key."""
    if not keys:
        return OPEN_CLIENT
    header = request.headers.get("Authorization")
    name = client_for(bearer_token(header), keys)
    if name is None:
        if header:
            raise unauthorized("The API key in the Authorization header is not valid.", True)
        raise unauthorized("Send your API key as `Authorization: Bearer <key>`.", False)
    return name


def authenticate_admin() -> str:
    """The admin calling a monitoring endpoint; 401 without an ADMIN_API_KEYS key.

    Monitoring sees and cancels every client's jobs, so once client keys are set it stays
    closed until admin keys are set too; it is open only while the whole API runs open.
    """
    admin_keys = current_app.config["ADMIN_KEYS"]
    if not admin_keys and current_app.config["API_KEYS"]:
        raise unauthorized(
            "Monitoring endpoints need an admin key, and none is configured: set ADMIN_API_KEYS.",
            False,
        )
    return authenticate(admin_keys)


def current_client() -> str:
    """The client this request acts for ("public" while the API runs open)."""
    client = g.get("client")
    if client is None:
        client = g.client = authenticate(current_app.config["API_KEYS"])
    return str(client)


def require_admin(view: F) -> F:
    """Decorate a monitoring view: it needs an ADMIN_API_KEYS key when any is configured."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.admin = authenticate_admin()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def under(path: str, prefixes: tuple[str, ...]) -> bool:
    """True when `path` is one of `prefixes` or lies below one (whole segments only)."""
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def init_app(app: Flask) -> None:
    """Require a valid key on every /api request (before any other check) when keys are set."""

    public = DOCS_PATHS if app.config["PUBLIC_API_DOCS"] else ()

    @app.before_request
    def _require_key() -> None:
        # Whole path segments: "/api/opsx" is a client path (401 without a key), not ops.
        path = request.path
        if (
            under(path, ("/api",))
            and not under(path, ADMIN_PATHS)
            and not (public and under(path, public))
        ):
            current_client()

    if not app.config["API_KEYS"]:
        log.warning(
            "API_KEYS is not set: the API is OPEN, every client sees every job. "
            "Set API_KEYS=name:key,... in production."
        )
    if not app.config["ADMIN_KEYS"]:
        log.warning(
            "ADMIN_API_KEYS is not set: monitoring endpoints are %s.",
            "closed (set ADMIN_API_KEYS to open them)" if app.config["API_KEYS"] else "open",
        )
