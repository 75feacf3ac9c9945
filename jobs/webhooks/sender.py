"""One HTTP attempt of a delivery: to an address checked just now, no redirects, bounded."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

import urllib3

from jobs.webhooks.urls import Target, WebhookRefused, check_url

MAX_RESPONSE_BYTES = 16 * 1024  # read (and drop) at most this much of an answer


@dataclass(frozen=True)
class Answer:
    """What a receiver answered (status None: no answer), and how long it took."""

    status: int | None
    duration: float
    error: str | None = None
    retry_after: float | None = None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds of a `Retry-After` header (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def post(target: Target, headers: dict[str, str], body: bytes, timeout: float) -> Answer:
    """POST `body` to the first address of `target` (the one the SSRF check passed)."""
    started = time.monotonic()
    address = target.addresses[0]
    host = f"[{target.host}]" if ":" in target.host else target.host  # an IPv6 literal
    host_header = host if target.port in (80, 443) else f"{host}:{target.port}"
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=urllib3.Timeout(total=timeout),
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            maxsize=1,
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            address, target.port, timeout=urllib3.Timeout(total=timeout), retries=False, maxsize=1
        )
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            retries=False,
            preload_content=False,
        )
        try:
            response.read(MAX_RESPONSE_BYTES)
        finally:
            response.release_conn()
        status = response.status
        return Answer(
            status,
            time.monotonic() - started,
            None if 200 <= status < 300 else f"HTTP {status}",
            parse_retry_after(response.headers.get("Retry-After"), time.time())
            if status in (429, 503)
            else None,
        )
    except urllib3.exceptions.HTTPError as exc:
        return Answer(None, time.monotonic() - started, f"{type(exc).__name__}: {exc}"[:300])
    finally:
        pool.close()


def attempt(
    url: str, headers: dict[str, str], body: bytes, timeout: float, allow_private: bool
) -> Answer:
    """Check the URL again (DNS may have changed since the submit), then POST."""
    try:
        target = check_url(url, allow_private)
    except WebhookRefused as exc:
        return Answer(None, 0.0, f"refused: {exc.reason}")
    return post(target, headers, body, timeout)
