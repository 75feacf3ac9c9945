"""A CLI process on a pseudo-terminal of its own: what a person at a terminal sees."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

from tests.sdk.conftest import CLI

CHILD = Path(__file__).with_name("tty_child.py")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def plain(text: str) -> str:
    """Text without terminal escape sequences."""
    return ANSI.sub("", text)


class Terminal:
    """`async-reports ARGS` with a 100x30 pty as stdin, stdout and stderr."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), *CLI, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm-256color"},
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self.closed = False

    @property
    def text(self) -> str:
        """Everything the process wrote so far."""
        return self.output.decode("utf-8", "replace")

    def _read(self, timeout: float) -> None:
        if self.closed:
            time.sleep(timeout)
            return
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every writer has closed the slave end
            chunk = b""
        if chunk:
            self.output += chunk
        else:
            self.closed = True

    def read_until(self, found: Callable[[str], object], timeout: float = 30.0) -> str:
        """Read until `found(text)` holds; AssertionError with the output if it never does."""
        deadline = time.monotonic() + timeout
        while not found(self.text):
            if time.monotonic() > deadline or (self.closed and self.proc.poll() is not None):
                raise AssertionError(f"never saw what was expected in:\n{plain(self.text)}")
            self._read(0.1)
        return self.text

    def send(self, data: bytes) -> None:
        """Type on the keyboard."""
        os.write(self.master, data)

    def finish(self, timeout: float = 60.0) -> tuple[int, str]:
        """Read to the end; the exit code and everything written."""
        deadline = time.monotonic() + timeout
        while not (self.closed and self.proc.poll() is not None):
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"still running after {timeout}s:\n{plain(self.text)}")
            self._read(0.1)
        os.close(self.master)
        return self.proc.wait(), self.text
