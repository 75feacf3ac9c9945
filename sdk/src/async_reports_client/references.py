"""Naming a job: kinds and their collections, continuation tokens, ids and status URLs."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# Each kind of job has a collection of its own (API.md, "Every kind of job speaks this
# protocol"); a kind not listed here is assumed to be its plural with an "s".
COLLECTIONS = {"report": "reports", "import": "imports"}
TOKEN_PREFIX = "arop1."  # noqa: S105 - a format marker, not a secret
_STATUS_PATH = re.compile(r"^(?P<prefix>.*?)/api/(?P<collection>[a-z][a-z0-9-]*)/(?P<id>[^/]+)")


def collection_of(kind: str) -> str:
    """The collection name of a kind of job (`report` -> `reports`)."""
    return COLLECTIONS.get(kind, f"{kind}s")


def kind_of(collection: str) -> str:
    """The kind of job a collection holds (`imports` -> `import`)."""
    for kind, name in COLLECTIONS.items():
        if name == collection:
            return kind
    return collection.removesuffix("s")


def status_path(kind: str, job_id: str) -> str:
    """The status resource of a job, as the contract names it."""
    return f"/api/{collection_of(kind)}/{job_id}/status"


@dataclass(frozen=True)
class Reference:
    """Enough to pick a job up again: its kind, id, status URL and (if known) base URL."""

    kind: str
    id: str
    status_url: str
    base_url: str | None = None

    def token(self) -> str:
        """This reference as an opaque, URL-safe continuation token (it holds no secret)."""
        data = {"base": self.base_url, "kind": self.kind, "id": self.id, "status": self.status_url}
        raw = json.dumps(data, separators=(",", ":")).encode()
        return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def from_token(token: str) -> Reference:
    """The reference a continuation token stands for; ValueError if it is not one."""
    if not token.startswith(TOKEN_PREFIX):
        raise ValueError("not a continuation token of this SDK")
    body = token[len(TOKEN_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        ref = Reference(str(data["kind"]), str(data["id"]), str(data["status"]), data.get("base"))
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ValueError("a damaged continuation token") from exc
    return ref


def parse(text: str, default_kind: str = "report") -> Reference:
    """A token, a status URL (absolute or a path) or a bare id of `default_kind`."""
    text = text.strip()
    if text.startswith(TOKEN_PREFIX):
        return from_token(text)
    if "/" in text:
        parts = urlsplit(text)
        match = _STATUS_PATH.match(parts.path)
        if match is None:
            raise ValueError(f"not a job's URL: {text!r}")
        kind = kind_of(match["collection"])
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
        base = f"{origin}{match['prefix']}" if origin else None
        return Reference(kind, match["id"], status_path(kind, match["id"]), base)
    if not text or any(c.isspace() for c in text):
        raise ValueError(f"not a job id: {text!r}")
    return Reference(default_kind, text, status_path(default_kind, text))
