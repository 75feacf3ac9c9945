"""The CLI's commands: each takes the parsed command line and returns an exit code."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from async_reports_client import errors, references
from async_reports_client.client import Client, Operation
from async_reports_client.console import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    PROG,
    UsageError,
    say,
)
from async_reports_client.display import display_for, summary
from async_reports_client.settings import KEY_VARIABLE, URL_VARIABLE


class Session:
    """One command's client, chosen from flags, the job reference and the environment."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._clients: dict[str, Client] = {}

    def client(self, ref: references.Reference | None = None) -> Client:
        """The client for `ref`: --url, else the base URL the reference names, else the env."""
        url = self.args.url or (ref.base_url if ref else None) or os.environ.get(URL_VARIABLE)
        key = url or ""
        if key not in self._clients:
            self._clients[key] = Client(
                url, self.args.api_key, retry_for=self.args.retry_for, timeout=30.0
            )
        return self._clients[key]

    def job(self, text: str, default_kind: str = "report") -> Operation:
        """A handle from a bare id (a report), a continuation token or a status URL."""
        try:
            ref = references.parse(text, default_kind)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return self.client(ref).resume(ref.token())

    def close(self) -> None:
        """Close every client made."""
        for client in self._clients.values():
            client.close()

    def emit(self, document: Any) -> None:
        """Print a result: a JSON line with --json, else indented JSON."""
        print(json.dumps(document) if self.args.json else json.dumps(document, indent=2))

    def resume_command(self, op: Operation) -> str:
        """The exact command that picks this wait up again."""
        words = [PROG]
        if self.args.api_key:
            words += ["--api-key", f"${KEY_VARIABLE}"]
        words += ["wait", op.continuation_token()]
        if getattr(self.args, "output", None):
            words += ["--output", self.args.output, "--format", self.args.format]
        # $VAR stays unquoted so the shell expands it; everything else is quoted.
        return " ".join(w if w.startswith("$") else shlex.quote(w) for w in words)


def watch(session: Session, op: Operation, out: Any = None) -> int:
    """Wait for a job with a bar or lines; Ctrl-C stops the wait (or cancels, if asked)."""
    args = session.args
    stream = out or sys.stdout
    display = display_for(stream, args.json, f"{op.kind} {op.id[:8]}")
    try:
        with display:
            document = op.wait(timeout=args.timeout, on_progress=display.update)
    except KeyboardInterrupt:
        if args.cancel_on_interrupt:
            op.cancel()
            say(f"Interrupted: cancelled {op.kind} {op.id}.")
        else:
            say(f"Interrupted: stopped waiting; {op.kind} {op.id} goes on running.")
            say("Resume the wait with:")
            say(f"  {session.resume_command(op)}")
        return EXIT_INTERRUPTED
    if not args.json:
        say(f"{op.kind} {op.id}: {summary(document)}")
    if getattr(args, "output", None):
        op.download(args.output, args.format)
        say(f"Saved the {args.format.upper()} result to {args.output}")
    elif op.kind == "import":
        session.emit(document.get("result") or {})
    return EXIT_OK


def parse_parameters(words: Sequence[str]) -> dict[str, Any]:
    """`key=value` (a string) and `key:=json` (any JSON value), as in HTTPie."""
    parameters: dict[str, Any] = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep:
            raise UsageError(f"expected key=value or key:=json, got {word!r}")
        if name.endswith(":"):
            name = name[:-1]
            try:
                parameters[name] = json.loads(value)
            except ValueError:
                raise UsageError(f"not JSON after ':=' in {word!r}") from None
        else:
            parameters[name] = value
        if not name:
            raise UsageError(f"a parameter without a name: {word!r}")
    return parameters


def announce(session: Session, op: Operation) -> None:
    """Say what was submitted and how to follow it."""
    if session.args.json:
        if not session.args.wait:
            session.emit({**(op.document or {}), "continuationToken": op.continuation_token()})
        return
    say(f"Submitted {op.kind} {op.id}")
    if not session.args.wait:
        print(op.continuation_token())
        say(f"Follow it with: {PROG} wait {op.continuation_token()}")


def cmd_types(session: Session) -> int:
    """List the report types and their parameters."""
    items = session.client().reports.types()
    if session.args.json:
        for item in items:
            print(json.dumps(item))
        return EXIT_OK
    for item in items:
        print(f"{item.get('name')}: {item.get('title') or item.get('description', '')}")
        schema = item.get("parameters") or {}
        required = set(schema.get("required") or [])
        for name, spec in (schema.get("properties") or {}).items():
            flag = " (required)" if name in required else ""
            print(f"    {name}{flag}: {spec.get('description') or spec.get('type', '')}")
    return EXIT_OK


def cmd_submit(session: Session) -> int:
    """Submit a report job; with --wait, follow it to the end."""
    args = session.args
    op = session.client().reports.submit(args.report_type, parse_parameters(args.parameters))
    announce(session, op)
    return watch(session, op) if args.wait else EXIT_OK


def cmd_import(session: Session) -> int:
    """Upload a CSV file of sales as an import job; with --wait, follow it to the end."""
    args = session.args
    try:
        op = session.client().imports.submit(args.file, args.max_bad_rows, gzip=args.gzip)
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    announce(session, op)
    if not args.wait:
        return EXIT_OK
    try:
        return watch(session, op)
    except errors.JobFailed:
        say(f"The bad rows: {PROG} errors {op.continuation_token()}")
        raise


def cmd_status(session: Session) -> int:
    """Show a job's status document."""
    op = session.job(session.args.id)
    document = op.status()
    if session.args.json:
        session.emit(document)
    else:
        print(f"{op.kind} {op.id}: {summary(document)}")
        error = document.get("error")
        if isinstance(error, dict):
            print(f"    {error.get('title', 'Failed')}: {error.get('detail', '')}")
    return EXIT_OK


def cmd_wait(session: Session) -> int:
    """Wait for a job to end (then download it with --output)."""
    return watch(session, session.job(session.args.id))


def cmd_list(session: Session) -> int:
    """List your jobs, newest first."""
    args = session.args
    client = session.client()
    found = (
        client.reports.list(args.status, report_type=args.type)
        if args.kind == "report"
        else client.imports.list(args.status)
    )
    for op in itertools.islice(found, args.limit or None):
        document = op.document or {}
        if args.json:
            print(json.dumps(document))
        else:
            kind = document.get("reportType", op.kind)
            print(f"{op.id}  {kind:<16} {summary(document)}  {document.get('createdAt', '')}")
    return EXIT_OK


def cmd_cancel(session: Session) -> int:
    """Cancel a job (a finished one is forgotten instead)."""
    op = session.job(session.args.id)
    document = op.cancel()
    if session.args.json:
        session.emit(document if document is not None else {"id": op.id, "forgotten": True})
    elif document is None:
        print(f"{op.kind} {op.id} had finished; the service forgot it and its result.")
    else:
        print(f"{op.kind} {op.id}: cancel requested; {summary(document)}")
    return EXIT_OK


def cmd_download(session: Session) -> int:
    """Save a report's result to --output (or write it to stdout), waiting for it first."""
    args = session.args
    op = session.job(args.id)
    if op.status().get("status") not in errors.TERMINAL_STATUSES:
        code = watch(session, op, out=sys.stderr)
        if code != EXIT_OK:
            return code
    target = args.output or sys.stdout.buffer
    op.download(target, args.format)
    if args.output:
        say(f"Saved the {args.format.upper()} result to {args.output}")
    return EXIT_OK


def cmd_errors(session: Session) -> int:
    """Show an import's bad rows."""
    session.emit(session.job(session.args.id, "import").errors())
    return EXIT_OK
