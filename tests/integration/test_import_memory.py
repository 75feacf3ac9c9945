"""A 200 MB upload streams through the web process: its memory grows by less than 50 MB."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psutil
import pytest
import requests

from devstack.stack import Stack
from tests.conftest import seeded_database
from tests.integration.imports import HEADER, csv_text, rows_in
from tests.integration.stacks import extra_stack

pytestmark = pytest.mark.integration

UPLOAD_BYTES = 200 * 1024 * 1024


@pytest.fixture(scope="module")
def web_only(
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
    sqlite_url: str,
    tmp_path_factory_db: str,
) -> Iterator[Stack]:
    env = {"WEB_CONCURRENCY": "1"}
    with extra_stack(
        tmp_path_factory.mktemp("mem"), redis_url, 6, tmp_path_factory_db, env, workers=0
    ) as s:
        yield s


@pytest.fixture(scope="module")
def tmp_path_factory_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A small SQLite sales database of this module's own (staging writes 200 MB into it)."""
    with seeded_database("sqlite", tmp_path_factory.mktemp("memdb"), rows=100) as url:
        yield url


def body() -> Iterator[bytes]:
    """A 200 MB CSV file, made as it is sent."""
    block = csv_text(rows_in(2039, 2000), ()).lstrip("\n").encode()
    yield (",".join(HEADER) + "\n").encode()
    sent = 0
    while sent < UPLOAD_BYTES:
        yield block
        sent += len(block)


def rss_of(root: psutil.Process) -> int:
    """Resident memory of the gunicorn worker processes (not the master)."""
    return sum(child.memory_info().rss for child in root.children(recursive=True))


def test_a_200_mb_upload_grows_the_web_by_less_than_50_mb(web_only: Stack) -> None:
    # Given the web process at rest
    root = psutil.Process(web_only.processes["web"].pid)
    requests.get(f"{web_only.base_url}/api/imports", timeout=10)  # warm: routes, imports loaded
    baseline = rss_of(root)
    peak = [baseline]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_of(root))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    # When 200 MB stream in (chunked, as curl sends a pipe)
    try:
        resp = requests.post(
            f"{web_only.base_url}/api/imports",
            data=body(),
            headers={"Content-Type": "text/csv"},
            timeout=600,
        )
    finally:
        stop.set()
        sampler.join()
    # Then the upload is accepted and the worker processes grew by less than 50 MB
    assert resp.status_code == 202, resp.text
    growth = (peak[0] - baseline) / 2**20
    print(f"web RSS: {baseline / 2**20:.1f} MiB at rest, peak +{growth:.1f} MiB")
    assert growth < 50, f"grew {growth:.1f} MiB"
    requests.delete(f"{web_only.base_url}/api/imports/{resp.json()['id']}", timeout=10)
