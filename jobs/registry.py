"""The registry of the job kinds a deployment serves (JOB_KINDS), and their executors."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jobs.kinds import JobKind
from jobs.settings import Settings


class Kinds(Mapping[str, JobKind]):
    """The kinds a deployment serves, by name, with lookups by collection and task."""

    def __init__(self, kinds: Iterable[JobKind]) -> None:
        self._by_name = {k.name: k for k in kinds}
        self.by_collection = {k.collection: k for k in self._by_name.values()}
        self.by_task = {
            task: (k, job_type)
            for k in self._by_name.values()
            for job_type, task in k.task_names().items()
        }
        for kind in self._by_name.values():
            if not kind.stream_media_types and type(kind).request_schema is JobKind.request_schema:
                raise SystemExit(f"job kind {kind.name!r} declares no request schema nor stream")
        if len(self.by_collection) != len(self._by_name):
            raise SystemExit("two job kinds declare the same collection")

    def __getitem__(self, name: str) -> JobKind:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)


def load_kinds(settings: Settings) -> Kinds:
    """Import each module named in JOB_KINDS and collect its `KIND`."""
    kinds = []
    for module_name in settings.kind_modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise SystemExit(
                f"JOB_KINDS names {module_name!r}, which cannot be imported: {exc}"
            ) from None
        kind = getattr(module, "KIND", None)
        if not isinstance(kind, JobKind):
            raise SystemExit(f"JOB_KINDS module {module_name!r} has no KIND (a JobKind)")
        kinds.append(kind)
    return Kinds(kinds)


def load_executor(kind: JobKind) -> Callable[..., Any]:
    """The worker-side function that runs jobs of `kind` (imported on first use)."""
    module_name, _, attr = kind.executor.partition(":")
    return getattr(importlib.import_module(module_name), attr)
