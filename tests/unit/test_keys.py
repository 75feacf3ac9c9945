"""Our Redis key names agree with what Celery's Redis result backend writes."""

from __future__ import annotations

from typing import Any

from celery import Celery

from jobs.store.keys import CELERY_META_PREFIX, Keys


def test_celery_meta_key_is_the_one_celerys_redis_backend_uses() -> None:
    # Given a Celery app with a Redis result backend (nothing connects to build keys)
    app = Celery("keys-test", backend="redis://127.0.0.1:1/0", broker="memory://")
    try:
        backend: Any = app.backend
        backend_key = backend.get_key_for_task("3f0c-job-id")
        # Then our prefix and our per-job key are exactly Celery's
        assert backend_key.decode() == f"{CELERY_META_PREFIX}3f0c-job-id"
        assert Keys("anything").celery_meta("3f0c-job-id") == backend_key.decode()
    finally:
        app.close()


def test_our_own_keys_live_under_the_prefix() -> None:
    keys = Keys("tenant")
    names = [
        keys.job("j"),
        keys.tombstone("j"),
        keys.queued(),
        keys.owner_jobs("o", "report"),
        keys.durations("report:t"),
        keys.stats(),
        keys.workers(),
        keys.events("j"),
        keys.idempotency("o", "report", "k"),
        keys.poll_gate("o", "j"),
    ]
    assert all(name.startswith("tenant:") for name in names)
    assert len(set(names)) == len(names)


def test_indexes_and_idempotency_keys_are_per_kind() -> None:
    keys = Keys("ar")
    assert keys.owner_jobs("o", "report") != keys.owner_jobs("o", "import")
    assert keys.idempotency("o", "report", "k") != keys.idempotency("o", "import", "k")
    # Run times are kept per `kind:type` label
    assert keys.durations("report:x") != keys.durations("import:x")


def test_two_prefixes_never_share_a_key() -> None:
    a, b = Keys("a"), Keys("b")
    assert {a.job("j"), a.queued(), a.stats()}.isdisjoint({b.job("j"), b.queued(), b.stats()})
