"""`./dev serve` runs the service; `./dev test` runs every check; `./dev bench` benchmarks."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path

from devstack import redis_server, testrun
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


def test(args: argparse.Namespace) -> int:
    """Lint, type-check and run every test against a Redis of the tests' own; with no
    arguments, the integration, contract and fault suites also on RabbitMQ, all at once
    (devstack/testrun.py)."""
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
    # in TEST_REDIS_URL is used (and flushed) instead: then one session only. With
    # arguments, one session runs them.
    if args.pytest_args or env.get("TEST_REDIS_URL"):
        cmd = [sys.executable, "-m", "pytest", *args.pytest_args]
        print("$", shlex.join(cmd), flush=True)
        return subprocess.run(cmd, env=env, cwd=PROJECT_ROOT).returncode
    in_ci = env.get("CI", "").lower() in {"1", "true", "yes"}
    with_rabbitmq = testrun.rabbitmq_usable(env, in_ci)
    return testrun.run_all(testrun.sessions(env, with_rabbitmq))


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
