"""`async-reports`: submit, watch, fetch and cancel jobs from a shell.

Exit codes: 0 done (Complete), 1 the job failed, 2 usage or a request the service
rejected, 3 the job was cancelled, 4 no such job (404) or it expired (410), 5 the
--timeout passed, 6 the service is unavailable, 7 unauthorized, 8 another error of the
service, 130 interrupted (Ctrl-C) while the job goes on.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from async_reports_client import errors
from async_reports_client.commands import (
    Session,
    cmd_cancel,
    cmd_download,
    cmd_errors,
    cmd_import,
    cmd_list,
    cmd_status,
    cmd_submit,
    cmd_types,
    cmd_wait,
)
from async_reports_client.console import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    UsageError,
    exit_code_for,
    report,
    say,
)
from async_reports_client.settings import DEFAULT_RETRY_FOR, KEY_VARIABLE, URL_VARIABLE


class _StderrHandler(logging.Handler):
    """The SDK's retry notices on whatever sys.stderr is now (a live bar redirects it)."""

    def emit(self, record: logging.LogRecord) -> None:
        say(f"{PROG}: {record.getMessage()}")


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


if __name__ == "__main__":
    raise SystemExit(main())
