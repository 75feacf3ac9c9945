"""The operator's dashboard page (`/ops`): a static page whose script calls the ops API."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response

STATIC = Path(__file__).resolve().parent.parent / "static"
page = Blueprint("ops_page", __name__, static_folder=str(STATIC), static_url_path="/ops/static")


@page.get("/ops")
def dashboard() -> Response:
    """The operator's dashboard (static page; its script calls the ops API)."""
    html = (STATIC / "ops.html").read_text()
    resp = Response(html, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'"
    )
    return resp
