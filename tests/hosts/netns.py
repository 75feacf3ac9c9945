"""Hosts as Linux network namespaces on one bridge, with links a test can cut and impair.

Layout of one run (`<id>` is random per run, `<n>` a free /24 in 10.213.0.0/16):

    arh-<id>-net       the switch: bridge `br0`, one port per host (named after the host)
    arh-<id>-<host>    one per host: `eth0` (10.213.<n>.<k>/24) on a veth to the switch
    root namespace     `arh<id>` (10.213.<n>.1) on a veth to the switch: the test client

Everything lives under those names and /tmp/arh-<id>/, and `Network.close` removes it
all (processes first). A run killed before it could clean up is swept by the next one:
its owner pid (in /tmp/arh-<id>/owner) is gone.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "arh"
RELAY_MARK = 0x213  # packets of the latency relay's own upstream connections


class NetworkUnavailable(RuntimeError):
    """Raised when this machine cannot build namespace hosts (not root, no `ip`, ...)."""


def run(*cmd: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    """Run one command, raising with its stderr when it fails and `check` is set."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
    if check and proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stderr.strip() or proc.stdout.strip()}")
    if not quiet and proc.returncode and not check:
        print(f"(ignored) {' '.join(cmd)}: {proc.stderr.strip()}", file=sys.stderr)
    return proc


def unavailable_reason() -> str | None:
    """Why namespace hosts cannot be built here, or None when they can."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    for tool in ("ip", "nft", "unshare", "runuser"):
        if not shutil.which(tool):
            return f"`{tool}` is not installed (Debian: iproute2, nftables, util-linux)"
    name = f"{PREFIX}-probe-{secrets.token_hex(3)}"
    probe = run("ip", "netns", "add", name, check=False, quiet=True)
    if probe.returncode:
        return f"cannot create a network namespace: {probe.stderr.strip()}"
    try:
        veth = run(
            "ip",
            "-n",
            name,
            "link",
            "add",
            "probe0",
            "type",
            "veth",
            "peer",
            "name",
            "probe1",
            check=False,
            quiet=True,
        )
        if veth.returncode:
            return f"cannot create a veth pair: {veth.stderr.strip()}"
        nft = run("ip", "netns", "exec", name, "nft", "add", "table", "inet", "probe", check=False)
        if nft.returncode:
            return f"nftables does not work in a namespace: {nft.stderr.strip()}"
    finally:
        run("ip", "netns", "del", name, check=False, quiet=True)
    return None


def namespace_pids(ns: str) -> list[int]:
    """Every process in a namespace."""
    out = run("ip", "netns", "pids", ns, check=False, quiet=True).stdout
    return [int(p) for p in out.split()]


def kill_namespace(ns: str) -> None:
    """SIGKILL everything in a namespace, then delete it."""
    for _ in range(20):
        pids = namespace_pids(ns)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    run("ip", "netns", "del", ns, check=False, quiet=True)


def sweep_stale() -> list[str]:
    """Remove namespaces of earlier runs whose owner process is gone; returns their names."""
    swept = []
    for line in run("ip", "netns", "list", check=False, quiet=True).stdout.splitlines():
        ns = line.split()[0] if line.strip() else ""
        parts = ns.split("-")
        if len(parts) < 3 or parts[0] != PREFIX:
            continue
        if parts[1] == "probe":  # a capability probe of a running session: gone in a second
            continue
        owner = Path(tempfile.gettempdir()) / f"{PREFIX}-{parts[1]}" / "owner"
        try:
            alive = Path(f"/proc/{int(owner.read_text())}").exists()
        except (OSError, ValueError):
            alive = False
        if not alive:
            kill_namespace(ns)
            swept.append(ns)
            shutil.rmtree(owner.parent, ignore_errors=True)
    for link in run("ip", "-o", "link", "show", check=False, quiet=True).stdout.splitlines():
        name = link.split(":")[1].strip().split("@")[0] if ":" in link else ""
        run_dir = Path(tempfile.gettempdir()) / f"{PREFIX}-{name[len(PREFIX) :]}"
        if name.startswith(PREFIX) and len(name) == len(PREFIX) + 6 and not run_dir.exists():
            run("ip", "link", "del", name, check=False, quiet=True)
    return swept


def free_subnet() -> ipaddress.IPv4Network:
    """A 10.213.<n>.0/24 that no interface or route of this machine uses yet."""
    used = run("ip", "-4", "-o", "addr", "show").stdout + run("ip", "-4", "route").stdout
    for _ in range(100):
        n = secrets.randbelow(254) + 1
        if f"10.213.{n}." not in used:
            return ipaddress.IPv4Network(f"10.213.{n}.0/24")
    raise NetworkUnavailable("no free 10.213.<n>.0/24 subnet")


@dataclass
class Host:
    """One namespace host: its name, namespace, address and switch port."""

    name: str
    ns: str
    address: str
    port: str  # the switch's interface for this host (cut it to unplug the host)


@dataclass
class Network:
    """The switch, the hosts and the root namespace's leg; `close()` removes everything."""

    run_id: str
    subnet: ipaddress.IPv4Network
    workdir: Path
    hosts: dict[str, Host] = field(default_factory=dict)
    relays: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    closed: bool = False

    @property
    def switch(self) -> str:
        """The namespace holding the bridge."""
        return f"{PREFIX}-{self.run_id}-net"

    @property
    def client_address(self) -> str:
        """The root namespace's address on the switch (where the test client talks from)."""
        return str(self.subnet[1])

    @property
    def root_link(self) -> str:
        """The root namespace's interface on the switch."""
        return f"{PREFIX}{self.run_id}"

    @classmethod
    def create(cls, names: list[str]) -> Network:
        """Build the switch, a host per name (addresses .2, .3, ... in order) and the root leg."""
        sweep_stale()
        run_id = secrets.token_hex(3)
        workdir = Path(tempfile.gettempdir()) / f"{PREFIX}-{run_id}"
        workdir.mkdir(mode=0o755)
        (workdir / "owner").write_text(str(os.getpid()))
        net = cls(run_id, free_subnet(), workdir)
        try:
            net._build(names)
        except BaseException:
            net.close()
            raise
        return net

    def _build(self, names: list[str]) -> None:
        sw, plen = self.switch, self.subnet.prefixlen
        run("ip", "netns", "add", sw)
        run("ip", "-n", sw, "link", "set", "lo", "up")
        run("ip", "-n", sw, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", sw, "link", "set", "br0", "up")
        # The root namespace's leg: the test process is the client of the web hosts.
        run(
            "ip", "link", "add", self.root_link, "type", "veth", "peer", "name", "root", "netns", sw
        )
        run("ip", "-n", sw, "link", "set", "root", "master", "br0", "up")
        run("ip", "addr", "add", f"{self.client_address}/{plen}", "dev", self.root_link)
        run("ip", "link", "set", self.root_link, "up")
        for i, name in enumerate(names):
            ns = f"{PREFIX}-{self.run_id}-{name}"
            address = str(self.subnet[2 + i])
            run("ip", "netns", "add", ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run(
                "ip",
                "link",
                "add",
                "eth0",
                "netns",
                ns,
                "type",
                "veth",
                "peer",
                "name",
                name,
                "netns",
                sw,
            )
            run("ip", "-n", sw, "link", "set", name, "master", "br0", "up")
            run("ip", "-n", ns, "addr", "add", f"{address}/{plen}", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            self.hosts[name] = Host(name, ns, address, name)

    def exec_args(self, host: str, *cmd: str) -> list[str]:
        """The argv that runs `cmd` on `host` (its network namespace)."""
        return ["ip", "netns", "exec", self.hosts[host].ns, *cmd]

    # -- faults -------------------------------------------------------------
    def cut(self, host: str) -> None:
        """Unplug a host: its switch port goes down, its packets vanish (no error, no RST)."""
        run("ip", "-n", self.switch, "link", "set", self.hosts[host].port, "down")

    def heal(self, host: str) -> None:
        """Plug a cut host back in."""
        run("ip", "-n", self.switch, "link", "set", self.hosts[host].port, "up")

    def block(self, host: str, peer: str) -> None:
        """Drop every packet between `host` and `peer` (a partition of two hosts only)."""
        ns, addr = self.hosts[host].ns, self.hosts[peer].address
        table = f"block_{peer}"
        nft = ["ip", "netns", "exec", ns, "nft"]
        run(*nft, "add", "table", "inet", table)
        run(*nft, "add", "chain", "inet", table, "out", "{ type filter hook output priority 0 ; }")
        run(*nft, "add", "chain", "inet", table, "in", "{ type filter hook input priority 0 ; }")
        run(*nft, "add", "rule", "inet", table, "out", "ip", "daddr", addr, "drop")
        run(*nft, "add", "rule", "inet", table, "in", "ip", "saddr", addr, "drop")

    def unblock(self, host: str, peer: str) -> None:
        """Undo `block`."""
        ns = self.hosts[host].ns
        run("ip", "netns", "exec", ns, "nft", "delete", "table", "inet", f"block_{peer}")

    def impair(self, host: str, delay_ms: int, jitter_ms: int, loss_percent: float) -> str:
        """Add latency and loss on a host's link; returns how ('netem' or 'nft+relay').

        With netem (`tc qdisc ... netem`) both apply to every packet. Without it (kernels
        built without CONFIG_NET_SCH_NETEM) loss is dropped packets (nftables, both ways on
        eth0) and latency is added by a relay in the host that every new TCP connection
        is redirected through (each chunk held delay +- jitter, order kept): connections
        opened before the call are not delayed, so restart the host's processes after it.
        """
        ns = self.hosts[host].ns
        tc = ["ip", "netns", "exec", ns, "tc", "qdisc"]
        netem = run(
            *tc,
            "add",
            "dev",
            "eth0",
            "root",
            "netem",
            "delay",
            f"{delay_ms}ms",
            f"{jitter_ms}ms",
            "loss",
            f"{loss_percent}%",
            check=False,
            quiet=True,
        )
        if netem.returncode == 0:
            return "netem"
        nft = ["ip", "netns", "exec", ns, "nft"]
        run(*nft, "add", "table", "inet", "impair")
        for chain, hook, iface in (("out", "output", "oifname"), ("in", "input", "iifname")):
            run(
                *nft,
                "add",
                "chain",
                "inet",
                "impair",
                chain,
                f"{{ type filter hook {hook} priority 0 ; }}",
            )
            threshold = max(1, round(loss_percent * 100))
            run(
                *nft,
                "add",
                "rule",
                "inet",
                "impair",
                chain,
                iface,
                "eth0",
                "numgen",
                "random",
                "mod",
                "10000",
                "<",
                str(threshold),
                "drop",
            )
        relay_port = 15999
        log = open(self.workdir / f"relay-{host}.log", "ab")  # noqa: SIM115 - the child's
        self.relays[host] = subprocess.Popen(
            self.exec_args(
                host,
                sys.executable,
                "-m",
                "tests.hosts.relay",
                "--port",
                str(relay_port),
                "--delay-ms",
                str(delay_ms),
                "--jitter-ms",
                str(jitter_ms),
                "--mark",
                str(RELAY_MARK),
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 10
        while b"listening" not in (self.workdir / f"relay-{host}.log").read_bytes():
            if self.relays[host].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.workdir / f"relay-{host}.log").read_text())
            time.sleep(0.05)
        run(*nft, "add", "table", "ip", "impair_nat")
        run(
            *nft,
            "add",
            "chain",
            "ip",
            "impair_nat",
            "out",
            "{ type nat hook output priority -100 ; }",
        )
        run(
            *nft,
            "add",
            "rule",
            "ip",
            "impair_nat",
            "out",
            "oifname",
            "eth0",
            "meta",
            "mark",
            "!=",
            str(RELAY_MARK),
            "tcp",
            "dport",
            "!=",
            str(relay_port),
            "redirect",
            "to",
            f":{relay_port}",
        )
        return "nft+relay"

    def unimpair(self, host: str) -> None:
        """Remove what `impair` added."""
        ns = self.hosts[host].ns
        run(
            "ip",
            "netns",
            "exec",
            ns,
            "tc",
            "qdisc",
            "del",
            "dev",
            "eth0",
            "root",
            check=False,
            quiet=True,
        )
        for family, table in (("inet", "impair"), ("ip", "impair_nat")):
            run(
                "ip",
                "netns",
                "exec",
                ns,
                "nft",
                "delete",
                "table",
                family,
                table,
                check=False,
                quiet=True,
            )
        relay = self.relays.pop(host, None)
        if relay is not None:
            relay.kill()
            relay.wait(10)

    # -- teardown -----------------------------------------------------------
    def close(self) -> None:
        """Kill every process in our namespaces, delete them and our temporary files."""
        if self.closed:
            return
        self.closed = True
        for relay in self.relays.values():
            with contextlib.suppress(ProcessLookupError):
                relay.kill()
        for host in self.hosts.values():
            kill_namespace(host.ns)
        for line in run("ip", "netns", "list", check=False, quiet=True).stdout.splitlines():
            ns = line.split()[0] if line.strip() else ""
            if ns.startswith(f"{PREFIX}-{self.run_id}-") and ns != self.switch:
                kill_namespace(ns)  # a host whose creation failed half-way
        kill_namespace(self.switch)  # takes the veth ends, the root leg included, with it
        run("ip", "link", "del", self.root_link, check=False, quiet=True)
        shutil.rmtree(self.workdir, ignore_errors=True)
