"""What a job kind declares, and the registry of the kinds a deployment serves.

The protocol (records, states, status documents, waiting, cancel/forget, listing,
idempotency, ownership, retention, metrics, history) is written once and never names a
kind. A kind brings what is its own: its collection, how a request becomes a job, its
Celery tasks, its result renderings, its unit of progress. A kind is one module exposing
`KIND`; the deployment lists those modules in JOB_KINDS (default: reports and imports).

A kind's declaration is imported by the web, the worker and the monitor alike, so it must
not import its computation: the worker loads that from `executor` ("module:function").
The registry of kinds is jobs/registry.py.
"""

from __future__ import annotations

import functools
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import IO, Any, ClassVar, Protocol

from marshmallow import Schema, fields

from jobs.settings import Settings
from jobs.states import State
from jobs.store.record import JobRecord, JobSnapshot


class KindContext(Protocol):
    """What a kind's web half may use: the settings and the sales database."""

    settings: Settings

    def engine(self) -> Any:
        """The sales database's SQLAlchemy engine (created on first use)."""


class RunContext(Protocol):
    """What a kind's computation gets from the worker runtime for one run of a job."""

    job_id: str
    settings: Settings

    def engine(self) -> Any:
        """The sales database's SQLAlchemy engine (one per process)."""

    def progress(self, current: int, total: int | None, percent: int | None = None) -> None:
        """Record a step; raises when the job's client cancelled it (stop there)."""

    def completed(self, total: int) -> None:
        """Say how much was done in all, once the work is done (the final progress)."""


@dataclass(frozen=True)
class Incoming:
    """A request body a kind reads itself (a streamed upload), without Flask."""

    content_type: str
    content_encoding: str
    content_length: int | None
    stream: IO[bytes]
    query: Mapping[str, str]


class NotAsked(Enum):
    """A value not computed yet, where None is a value of its own."""

    NOT_ASKED = "not asked"


@dataclass
class Submission:
    """A validated request: the job it asks for, and how to undo what accepting it did."""

    type: str
    parameters: dict[str, Any]
    # Digest of the request, for Idempotency-Key comparisons: the text, or a function
    # computing it (`fingerprint_of`: only a request with a key asks, by `digest()`).
    fingerprint: str | Callable[[], str]
    discard: Callable[[], None] = field(default=lambda: None)
    # {"url", "events"} of the request's `webhook`/`webhookEvents`: filled by the core's
    # view (from a JSON body or, for streaming kinds, the query), never by a kind.
    webhook: dict[str, Any] | None = None
    # `priority` of the request (high, normal, low): orders the client's own jobs.
    priority: str = "normal"
    # The kind's normalised parameters, asked of it once by result reuse (None: never
    # shared; NOT_ASKED until then); never set by a kind.
    reuse_parameters: dict[str, Any] | NotAsked | None = NotAsked.NOT_ASKED

    def digest(self) -> str:
        """The request's fingerprint (computed now, once, if the kind gave a function)."""
        self.fingerprint = _text(self.fingerprint)
        return self.fingerprint

    def fingerprint_with(self, extra: Any) -> None:
        """Count `extra` (the request's priority, its webhook) in the fingerprint, still
        computed only when asked for."""
        before = self.fingerprint
        self.fingerprint = lambda: json_fingerprint([_text(before), extra])


def _text(fingerprint: str | Callable[[], str]) -> str:
    return fingerprint if isinstance(fingerprint, str) else fingerprint()


@dataclass(frozen=True)
class Resource:
    """A resource under a job once it reached one of `states`: the report, the errors."""

    name: str  # path segment: /api/<collection>/<id>/<name>
    field: str  # status-document field holding its URL, e.g. "reportURL"
    link: str  # name in the document's `links`
    states: frozenset[State]
    formats: tuple[str, ...] = ("json", "csv")  # the first is the default
    summary: str = ""


@dataclass(frozen=True)
class Rendered:
    """A resource rendered for download."""

    chunks: Iterable[str] | Iterable[bytes]
    media_type: str
    filename: str


class JobKind(ABC):
    """One kind of job. Subclasses set the class attributes and the request handling."""

    name: ClassVar[str]  # "report": the status document's `kind`
    collection: ClassVar[str]  # "reports": /api/reports
    title: ClassVar[str]
    description: ClassVar[str]
    executor: ClassVar[str]  # "kinds.reports.work:execute", loaded by workers only
    type_field: ClassVar[str | None] = None  # document field + list filter naming the type
    progress_unit: ClassVar[str] = "steps"
    deterministic: ClassVar[bool] = False  # same type + parameters + data: same result
    changes_data: ClassVar[bool] = False  # a completed job changes the data (new version)
    resources: ClassVar[tuple[Resource, ...]] = ()
    # A streaming kind reads its request body itself (accept_stream) and names the
    # media types it takes; a JSON kind leaves this empty and gives a request_schema.
    stream_media_types: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def types(self, settings: Settings) -> list[str]:
        """The job types of this kind that this deployment offers."""

    @abstractmethod
    def task_names(self) -> dict[str, str]:
        """Every job type of this kind -> the Celery task that runs it."""

    def request_schema(self, settings: Settings) -> Schema | None:
        """The schema a JSON request body is validated with (and documented by)."""
        return None

    def max_stream_bytes(self, settings: Settings) -> int:
        """The largest streamed request body this kind accepts (413 beyond it)."""
        return 0

    def request_json_schema(self, settings: Settings) -> dict[str, Any] | None:
        """The JSON Schema documenting the request body, when stricter than the
        request schema's own (None: document the request schema as it is)."""
        return None

    def stream_request_doc(self) -> dict[str, Any]:
        """The OpenAPI requestBody of a streaming kind."""
        return {}

    def accept(self, body: dict[str, Any], ctx: KindContext) -> Submission:
        """Turn a request body validated by `request_schema` into a submission."""
        raise NotImplementedError(f"{self.name} jobs are not submitted as JSON")

    def accept_stream(self, incoming: Incoming, job_id: str, ctx: KindContext) -> Submission:
        """Read and check a streamed request body (raise jobs.errors.RequestRejected)."""
        raise NotImplementedError(f"{self.name} jobs are not submitted as a stream")

    def normalised(self, submission: Submission) -> dict[str, Any] | None:
        """A deterministic kind's parameters in one canonical form ("2023" and 2023 alike),
        so that requests asking for the same result share it; None: never share this one."""
        return submission.parameters

    def document_fields(self) -> dict[str, Any]:
        """marshmallow fields of describe() and outcome(), for the OpenAPI document."""
        return {"parameters": fields.Dict()}

    def describe(self, record: JobRecord) -> dict[str, Any]:
        """The kind's own fields of a status document (after `id` and `kind`)."""
        return {"parameters": record.parameters}

    def outcome(self, snap: JobSnapshot) -> dict[str, Any]:
        """Fields a Complete job's document adds (e.g. the counts of an import)."""
        return {}

    def render(self, resource: Resource, snap: JobSnapshot, fmt: str, ctx: KindContext) -> Rendered:
        """One of `resources` of a job, in format `fmt`."""
        raise NotImplementedError(resource.name)

    def forget(self, record: JobRecord, ctx: KindContext) -> None:  # noqa: B027 - optional
        """Remove what the kind keeps of a job outside the job store (when forgotten)."""

    def catalogue(self, settings: Settings) -> tuple[str, list[dict[str, Any]]] | None:
        """(path, items) of a catalogue of this kind's types, or None (no such resource)."""
        return None


def fingerprint_of(body: Any) -> Callable[[], str]:
    """A JSON body's fingerprint for a Submission, computed only if an Idempotency-Key
    asks for it (the body must not change after it is accepted)."""
    return functools.partial(json_fingerprint, body)


def json_fingerprint(body: Any) -> str:
    """A digest of a JSON request body that ignores key order and whitespace."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
