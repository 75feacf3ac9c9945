"""Tried as a new user would: the SDK alone in a fresh virtualenv, the README run as written.

pip fetches httpx, rich and the build backend from the package index (about 30 s).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import Stack

pytestmark = [pytest.mark.sdk, pytest.mark.integration]

SDK = Path(__file__).resolve().parents[2] / "sdk"
SERVER_PACKAGES = ("flask", "celery", "redis", "kombu", "sqlalchemy", "app", "worker", "jobs")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtualenv with `pip install ./sdk` and nothing else of this repository."""
    tmp = tmp_path_factory.mktemp("fresh")
    # A copy, so pip's build leaves nothing in the working tree.
    source = tmp / "sdk"
    shutil.copytree(SDK, source, ignore=shutil.ignore_patterns("*.egg-info", "build"))
    subprocess.run([sys.executable, "-m", "venv", str(tmp / "venv")], check=True, timeout=120)
    python = tmp / "venv" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(source)],
        check=True,
        timeout=480,
        env={**outside_env(), "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    yield tmp / "venv"


def outside_env(**extra: str) -> dict[str, str]:
    """Our environment without this repository on the path nor a service preset."""
    drop = {"PYTHONPATH", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("ASYNC_")}
    return {**env, **extra}


@pytest.mark.timeout(600)
def test_the_sdk_installs_and_imports_without_the_server(venv: Path) -> None:
    check = textwrap.dedent(
        f"""
        import importlib.util, pathlib, sys
        import async_reports_client, async_reports_client.cli, async_reports_client.aio
        server = [m for m in {SERVER_PACKAGES!r} if importlib.util.find_spec(m) is not None]
        assert not server, server
        assert "site-packages" in async_reports_client.__file__, async_reports_client.__file__
        assert (pathlib.Path(async_reports_client.__file__).parent / "py.typed").exists()
        print("ok")
        """
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", check],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=venv,
        env=outside_env(),
    )
    assert done.stdout.strip() == "ok", done.stderr
    usage = subprocess.run(
        [str(venv / "bin" / "async-reports"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert usage.returncode == 0 and "Exit codes" in usage.stdout


def readme_examples() -> list[str]:
    """The Python code blocks of sdk/README.md's quick start, as written."""
    text = (SDK / "README.md").read_text()
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", quick_start, re.S)


@pytest.mark.timeout(600)
def test_the_readme_quick_start_runs_against_the_stack(
    venv: Path, stack: Stack, tmp_path: Path
) -> None:
    examples = readme_examples()
    assert len(examples) == 2  # the sync one and the async one
    for n, code in enumerate(examples):
        done = subprocess.run(
            [str(venv / "bin" / "python"), "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env=outside_env(ASYNC_REPORTS_URL=stack.base_url),
        )
        assert done.returncode == 0, f"example {n}:\n{done.stdout}\n{done.stderr}"
        assert "2023" in done.stdout or "revenue" in done.stdout, done.stdout
    assert (tmp_path / "sales-2023.csv").read_text().startswith("month,")
    cli = subprocess.run(
        [str(venv / "bin" / "async-reports"), "submit", "noop", "steps=2", "--wait"],
        capture_output=True,
        text=True,
        timeout=120,
        env=outside_env(ASYNC_REPORTS_URL=stack.base_url),
    )
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.splitlines()[-1].endswith("Complete (succeeded) 100%")
