"""`async-reports`: submit, watch, fetch and cancel jobs from a shell.

Exit codes: 0 done (Complete), 1 the job failed, 2 usage or a request the service
rejected, 3 the job was cancelled, 4 no such job (404) or it expired (410), 5 the
--timeout passed, 6 the service is unavailable, 7 unauthorized, 8 another error of the
service, 130 interrupted (Ctrl-C) while the job goes on.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any

from async_reports_client import errors, references
from async_reports_client.client import Client, Operation
from async_reports_client.display import display_for, summary
from async_reports_client.settings import DEFAULT_RETRY_FOR, KEY_VARIABLE, URL_VARIABLE

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 3
EXIT_NOT_FOUND = 4
EXIT_TIMEOUT = 5
EXIT_UNAVAILABLE = 6
EXIT_UNAUTHORIZED = 7
EXIT_ERROR = 8
EXIT_INTERRUPTED = 130

PROG = "async-reports"
_EXIT_BY_ERROR: tuple[tuple[type[errors.AsyncReportsError], int], ...] = (
    (errors.JobFailed, EXIT_FAILED),
    (errors.JobCancelled, EXIT_CANCELLED),
    (errors.InvalidRequest, EXIT_USAGE),
    (errors.NotFound, EXIT_NOT_FOUND),
    (errors.Gone, EXIT_NOT_FOUND),
    (errors.Timeout, EXIT_TIMEOUT),
    (errors.Unavailable, EXIT_UNAVAILABLE),
    (errors.RateLimited, EXIT_UNAVAILABLE),
    (errors.Unauthorized, EXIT_UNAUTHORIZED),
)


class UsageError(Exception):
    """Raised when the command line itself is wrong (exit code 2)."""


def exit_code_for(error: errors.AsyncReportsError) -> int:
    """The documented exit code of an SDK error."""
    for cls, code in _EXIT_BY_ERROR:
        if isinstance(error, cls):
            return code
    return EXIT_ERROR


def say(*parts: object) -> None:
    """A message for the person at the terminal (stderr, never mixed into the output)."""
    print(*parts, file=sys.stderr, flush=True)


class _StderrHandler(logging.Handler):
    """The SDK's retry notices on whatever sys.stderr is now (a live bar redirects it)."""

    def emit(self, record: logging.LogRecord) -> None:
        say(f"{PROG}: {record.getMessage()}")


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


def build_parser() -> argparse.ArgumentParser:
    """The command line: global options may come before or after the command."""
    common = argparse.ArgumentParser(add_help=False)
    hide = argparse.SUPPRESS
    common.add_argument("--url", default=hide, help=f"service URL (${URL_VARIABLE})")
    common.add_argument("--api-key", default=hide, help=f"API key (${KEY_VARIABLE})")
    common.add_argument("--json", action="store_true", default=hide, help="JSON lines out")
    common.add_argument(
        "--timeout", type=float, default=hide, help="give up waiting after SECONDS (default: never)"
    )
    common.add_argument(
        "--retry-for",
        type=float,
        default=hide,
        help=f"ride out an unreachable or overloaded service for SECONDS ({DEFAULT_RETRY_FOR:g})",
    )
    parser = argparse.ArgumentParser(
        prog=PROG,
        parents=[common],
        description="Submit, follow, fetch and cancel async-reports jobs.",
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Callable[[Session], int], help_text: str) -> Any:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    def waiting(p: argparse.ArgumentParser, output: bool = True) -> None:
        p.add_argument("--cancel-on-interrupt", action="store_true", help="Ctrl-C cancels the job")
        if output:
            p.add_argument("--output", "-o", help="save the result to FILE when complete")
            p.add_argument("--format", choices=["csv", "json"], default="csv")

    command("types", cmd_types, "list the report types and their parameters")
    p = command("submit", cmd_submit, "submit a report: TYPE key=value ... (key:=json)")
    p.add_argument("report_type", metavar="TYPE")
    p.add_argument("parameters", nargs="*", metavar="key=value")
    p.add_argument("--wait", action="store_true", help="follow the job to its end")
    waiting(p)
    p = command("status", cmd_status, "show a job's status")
    p.add_argument("id", metavar="ID", help="a report id, a continuation token or a status URL")
    p = command("wait", cmd_wait, "wait for a job to end")
    p.add_argument("id", metavar="ID")
    waiting(p)
    p = command("list", cmd_list, "list your jobs, newest first")
    p.add_argument("--status", choices=sorted(errors.TERMINAL_STATUSES | {"In Progress"}))
    p.add_argument("--type", help="only reports of this type")
    p.add_argument("--kind", choices=["report", "import"], default="report")
    p.add_argument("--limit", type=int, default=20, help="at most N jobs (0: all)")
    p = command("cancel", cmd_cancel, "cancel a job (a finished one is forgotten)")
    p.add_argument("id", metavar="ID")
    p = command("download", cmd_download, "save a report's result (waits for it)")
    p.add_argument("id", metavar="ID")
    p.add_argument("--output", "-o", help="the file (default: stdout)")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--cancel-on-interrupt", action="store_true", help="Ctrl-C cancels the job")
    p = command("import", cmd_import, "upload a CSV file of sales")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--max-bad-rows", type=int, default=0, metavar="N")
    p.add_argument("--gzip", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--wait", action="store_true", help="follow the job to its end")
    waiting(p, output=False)
    p = command("errors", cmd_errors, "show an import's bad rows")
    p.add_argument("id", metavar="ID", help="a continuation token or a status URL")
    return parser


DEFAULTS = {
    "url": None,
    "api_key": None,
    "json": False,
    "timeout": None,
    "retry_for": DEFAULT_RETRY_FOR,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns (and, as a console script, exits with) its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, value in DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, value)
    for name in ("wait", "cancel_on_interrupt"):
        if not hasattr(args, name):
            setattr(args, name, False)
    logger = logging.getLogger("async_reports_client")
    logger.setLevel(logging.INFO)
    logger.addHandler(_StderrHandler())
    session = Session(args)
    try:
        return int(args.func(session))
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        say(f"{PROG}: error: {exc}")
        return EXIT_USAGE
    except errors.AsyncReportsError as exc:
        report(exc)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        say(f"{PROG}: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `| head` closed the pipe: not an error of ours
        sys.stderr.close()
        return EXIT_OK
    finally:
        session.close()


def report(error: errors.AsyncReportsError) -> None:
    """Print an error from its problem's detail (never a traceback)."""
    if isinstance(error, errors.JobFailed):
        title = error.problem.get("title") or "Failed"
        say(f"{PROG}: the job failed: {title}: {error.detail}")
    elif isinstance(error, errors.JobCancelled):
        say(f"{PROG}: {error.detail}")
    else:
        say(f"{PROG}: error: {error.detail}")
    if isinstance(error, errors.InvalidRequest):
        for field, messages in error.errors.items():
            say(f"    {field}: {' '.join(messages)}")


if __name__ == "__main__":
    raise SystemExit(main())
