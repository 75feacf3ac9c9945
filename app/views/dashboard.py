"""Static pages: the operator's dashboard (`/ops`, its script calls the ops API) and
`/watch`, which follows one job with the browser's EventSource."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response

STATIC = Path(__file__).resolve().parent.parent / "static"
page = Blueprint("ops_page", __name__, static_folder=str(STATIC), static_url_path="/ops/static")


def static_page(name: str) -> Response:
    """One of our static pages, scripts only from this origin."""
    html = (STATIC / name).read_text()
    resp = Response(html, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'"
    )
    return resp


@page.get("/ops")
def dashboard() -> Response:
    """The operator's dashboard (static page; its script calls the ops API)."""
    return static_page("ops.html")


@page.get("/watch")
def watch() -> Response:
    """Follow one job (`?job=/api/<collection>/<id>`) as its events stream in."""
    return static_page("watch.html")
