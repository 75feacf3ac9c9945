"""Read the Procfile: the one place that says how each process starts."""

from __future__ import annotations

from pathlib import Path

from jobs.settings import PROJECT_ROOT


def read_procfile(path: Path = PROJECT_ROOT / "Procfile") -> dict[str, str]:
    """Process name -> shell command, in file order."""
    processes: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep:
            raise ValueError(f"bad Procfile line: {line!r}")
        processes[name.strip()] = command.strip()
    return processes
