"""`./dev serve` runs the service; `./dev test` runs every check; `./dev bench` benchmarks."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from devstack import redis_server
from devstack.debian import ensure_command
from devstack.procfile import read_procfile
from jobs.settings import DEFAULT_REDIS_URL, PROJECT_ROOT

VAR = PROJECT_ROOT / "var"
BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def terminal_env(env: dict[str, str], tty: bool) -> dict[str, str]:
    """Plain-text logs when a person watches them (a terminal), unless LOG_FORMAT says."""
    if tty:
        env.setdefault("LOG_FORMAT", "text")
    return env


def serve(args: argparse.Namespace) -> int:
    """Redis (if none answers), sample data (if missing), then web + worker in the foreground."""
    from honcho.manager import Manager

    env = terminal_env(_env(), sys.stdout.isatty())
    env.setdefault("PORT", "8000")
    env.setdefault("WEB_CONCURRENCY", "2")
    url = env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    manager = Manager()
    if redis_server.answers(url):
        print(f"using the Redis at {url}", flush=True)
    else:
        cmd = redis_server.server_command(url, VAR / "redis")
        print(f"no Redis at {url}: starting {cmd[0]} with data in var/redis", flush=True)
        manager.add_process("redis", shlex.join(cmd), env=env)
    seed = [
        sys.executable,
        "-m",
        "sales.seed",
        "--if-empty",
        "--rows",
        env.get("SEED_ROWS", "1000000"),
    ]
    subprocess.run(seed, env=env, check=True, cwd=PROJECT_ROOT)
    wanted = args.processes or ["web", "worker", "webhooks", "monitor"]
    procfile = read_procfile()
    for name in wanted:
        manager.add_process(name, procfile[name], env=env, cwd=str(PROJECT_ROOT))
    base = f"http://127.0.0.1:{env['PORT']}"
    print(f"async-reports on {base}/api/docs  (Ctrl-C stops)", flush=True)
    print(
        "import sales data:  curl -si --data-binary @sales.csv -H 'Content-Type: text/csv' "
        f"{base}/api/imports   (README: Imports)",
        flush=True,
    )
    manager.loop()
    return int(manager.returncode or 0)


# The suites run a second time with RabbitMQ as the broker (TEST_BROKER=rabbitmq), in a
# pytest session of their own beside the first: its own Redis, PostgreSQL schemas,
# virtual hosts, ports and temporary directory. The namespace hosts run in the first only.
RABBITMQ_SUITES = ["tests/integration", "tests/contract", "tests/faults"]
RABBITMQ_LOG = VAR / "test-rabbitmq.log"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _rabbitmq_pass(env: dict[str, str]) -> tuple[list[str], dict[str, str]] | None:
    """The second session's command and environment, or None (said why) when this
    machine has no usable RabbitMQ; in CI one is installed and started first, and
    without one `./dev test` fails."""
    from devstack import rabbitmq

    url = env.get("TEST_AMQP_URL", rabbitmq.DEFAULT_AMQP_URL)
    reason = rabbitmq.ensure_running(url) if IN_CI else rabbitmq.unusable_reason(url)
    if reason is not None:
        print(f"RabbitMQ pass skipped: {reason}.", flush=True)
        if IN_CI:
            raise SystemExit("CI must run the RabbitMQ pass: failing.")
        print(
            "  Install and start RabbitMQ (Debian: apt-get install rabbitmq-server), or set "
            "TEST_AMQP_URL, to run the integration, contract and fault suites on it too.",
            flush=True,
        )
        return None
    cmd = [
        sys.executable, "-m", "pytest", *RABBITMQ_SUITES, "-p", "no:cacheprovider",
        "--basetemp", str(VAR / "pytest-rabbitmq"),
    ]  # fmt: skip
    return cmd, {**env, "TEST_BROKER": "rabbitmq"}


def test(args: argparse.Namespace) -> int:
    """Lint, type-check and run every test against a Redis of the tests' own; with no
    arguments, the integration, contract and fault suites also on RabbitMQ, at once."""
    env = _env()
    steps = [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
    ]
    for step in steps:
        print("$", shlex.join(step), flush=True)
        if subprocess.run(step, env=env, cwd=PROJECT_ROOT).returncode:
            return 1
    # The dashboard test drives Debian's Chromium (it skips off CI when there is none).
    if not ensure_command("chromium", "chromium"):
        print("no chromium: the dashboard test will skip (and fail in CI)", flush=True)
    # The namespace-host scenarios (tests/hosts) cut and impair links with nftables.
    if not ensure_command("nft", "nftables"):
        print("no nft: the namespace-host scenarios will skip (and fail in CI)", flush=True)
    # Each pytest session starts a Redis of its own on a free port (tests/conftest.py),
    # so parallel runs never share a queue or flush each other's data. A Redis given
    # in TEST_REDIS_URL is used (and flushed) instead: then one session only.
    second = None
    if not args.pytest_args and not env.get("TEST_REDIS_URL"):
        second = _rabbitmq_pass(env)
    cmd = [sys.executable, "-m", "pytest", *args.pytest_args]
    background = None
    if second is not None:
        VAR.mkdir(exist_ok=True)
        print("$", "TEST_BROKER=rabbitmq", shlex.join(second[0]), f"> {RABBITMQ_LOG}", flush=True)
        log = open(RABBITMQ_LOG, "wb")  # noqa: SIM115 - closed after the session below
        background = (time.monotonic(), log, subprocess.Popen(
            second[0], env=second[1], cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        ))  # fmt: skip
    print("$", shlex.join(cmd), flush=True)
    started = time.monotonic()
    try:
        code = subprocess.run(cmd, env=env, cwd=PROJECT_ROOT).returncode
    except KeyboardInterrupt:
        if background is not None:
            os.killpg(background[2].pid, signal.SIGINT)
        raise
    took = time.monotonic() - started
    if background is None:
        return code
    since, log, proc = background
    rabbit_code = proc.wait()
    rabbit_took = time.monotonic() - since
    log.close()
    print(f"\n===== RabbitMQ pass (TEST_BROKER=rabbitmq {' '.join(RABBITMQ_SUITES)}) =====")
    sys.stdout.write(RABBITMQ_LOG.read_text(errors="replace"))
    print(
        f"\nRedis pass: exit {code} in {took:.0f} s; RabbitMQ pass: exit {rabbit_code} in "
        f"{rabbit_took:.0f} s (they ran at once; log: {RABBITMQ_LOG})",
        flush=True,
    )
    return code or rabbit_code


def bench(bench_args: list[str]) -> int:
    """The benchmark suite (bench/README.md): our service against bare baselines."""
    cmd = [sys.executable, "-m", "bench", *bench_args]
    print("$", shlex.join(cmd), flush=True)
    return subprocess.run(cmd, env=_env(), cwd=PROJECT_ROOT).returncode


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # every option after `bench` is the suite's own
        return bench(argv[1:])
    parser = argparse.ArgumentParser(prog="./dev", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run Redis (if needed), web and worker")
    p_serve.add_argument(
        "processes", nargs="*", help="Procfile names (default: web worker webhooks monitor)"
    )
    p_serve.set_defaults(func=serve)
    p_test = sub.add_parser("test", help="ruff, mypy and the whole test suite")
    p_test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    p_test.set_defaults(func=test)
    sub.add_parser("bench", help="the benchmark suite (options: ./dev bench --help)")
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
