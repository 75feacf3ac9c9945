"""What both clients are built from: the base URL and key (arguments or environment)."""

from __future__ import annotations

import os
import random
from importlib import metadata

from async_reports_client.calls import DEFAULT_RETRY_FOR, Config
from async_reports_client.policy import MAX_LONG_POLL, PollPolicy

DEFAULT_URL = "http://127.0.0.1:8000"
URL_VARIABLE = "ASYNC_REPORTS_URL"
KEY_VARIABLE = "ASYNC_REPORTS_API_KEY"
DEFAULT_TIMEOUT = 30.0


def _version() -> str:
    try:
        return metadata.version("async-reports-client")
    except metadata.PackageNotFoundError:  # run from a source tree
        return "0"


def base_url_of(base_url: str | None) -> str:
    """The service's base URL: the argument, else $ASYNC_REPORTS_URL, else the local default."""
    url = base_url or os.environ.get(URL_VARIABLE) or DEFAULT_URL
    return url.rstrip("/")


def headers_for(api_key: str | None) -> dict[str, str]:
    """Headers every request carries: the SDK's name and, with a key, the Bearer token."""
    key = api_key if api_key is not None else os.environ.get(KEY_VARIABLE) or None
    headers = {"User-Agent": f"async-reports-client/{_version()}"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def config_for(
    min_poll_interval: float | None,
    max_poll_interval: float | None,
    retry_for: float | None,
    long_poll: int = MAX_LONG_POLL,
    seed: int | None = None,
) -> Config:
    """The flows' configuration of one client."""
    rules = PollPolicy(
        min_interval=min_poll_interval, max_interval=max_poll_interval, long_poll=long_poll
    )
    return Config(policy=rules, retry_for=retry_for, rng=random.Random(seed))


__all__ = ["DEFAULT_RETRY_FOR", "DEFAULT_TIMEOUT", "base_url_of", "config_for", "headers_for"]
