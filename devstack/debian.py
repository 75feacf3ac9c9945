"""Install a missing Debian package that a command needs (only as root, where apt exists)."""

from __future__ import annotations

import os
import shutil
import subprocess


def ensure_command(command: str, package: str) -> str | None:
    """The path of `command`, apt-installing `package` first when we are root on Debian."""
    found = shutil.which(command)
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print(f"installing {package} (apt-get install -y {package}) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", package]
    subprocess.run(install, check=False, env=env, stdout=subprocess.DEVNULL)
    if not shutil.which(command):  # the package lists may be missing or stale
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(install, check=False, env=env, stdout=subprocess.DEVNULL)
    return shutil.which(command)
