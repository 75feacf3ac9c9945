"""What the CLI shows while it waits: a progress bar on a terminal, else one line per change."""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


def percent_of(document: dict[str, Any]) -> int:
    """The job's percent done (0 when the document has none)."""
    progress = document.get("progress")
    value = progress.get("percent") if isinstance(progress, dict) else None
    return int(value) if isinstance(value, (int, float)) else 0


def summary(document: dict[str, Any]) -> str:
    """One line about a job: its state, percent and the server's estimate."""
    line = f"{document.get('status', '?')} ({document.get('state', '?')}) {percent_of(document)}%"
    eta = document.get("estimatedTimeRemaining")
    return f"{line}, about {eta} left" if eta else line


class Lines:
    """One plain line per change of the document (or the document as a JSON line)."""

    def __init__(self, out: TextIO, as_json: bool) -> None:
        self.out, self.as_json = out, as_json
        self._last: str | None = None

    def __enter__(self) -> Lines:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.out.flush()

    def update(self, document: dict[str, Any]) -> None:
        """Show a new document (a line only if what a line says has changed)."""
        line = json.dumps(document) if self.as_json else f"{document.get('id')} {summary(document)}"
        if line != self._last:
            print(line, file=self.out, flush=True)
            self._last = line


class Bar(Lines):
    """A rich progress bar: percent, state and the server's estimate of the time left."""

    def __init__(self, out: TextIO, label: str) -> None:
        super().__init__(out, as_json=False)
        self.console = Console(file=out)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[state]:<9}"),
            TextColumn("ETA {task.fields[eta]}"),
            TimeElapsedColumn(),
            console=self.console,
            refresh_per_second=8,
        )
        self.task: TaskID = self.progress.add_task(label, total=100, state="…", eta="?")

    def __enter__(self) -> Bar:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def update(self, document: dict[str, Any]) -> None:
        """Move the bar to the document's percent, state and estimate."""
        eta = str(document.get("estimatedTimeRemaining") or "?").replace(" seconds", " s")
        self.progress.update(
            self.task,
            completed=percent_of(document),
            state=str(document.get("state", "?")),
            eta=eta,
        )


def display_for(out: TextIO, as_json: bool, label: str) -> Lines:
    """A bar when `out` is a terminal and JSON was not asked for, else plain or JSON lines."""
    if not as_json and out.isatty():
        return Bar(out, label)
    return Lines(out, as_json)
