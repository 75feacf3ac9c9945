"""Trivial-job throughput on namespace hosts: 1, 2 and 3 worker hosts, Redis vs RabbitMQ.

    .venv/bin/python -m bench.hosts [--jobs 600] [--runs 2]     (root: it builds namespaces)

The hosts of tests/hosts (store, web1, web2, worker1-3; tests/hosts/netns.py) run the
Procfile's processes. Clients in the root namespace submit `noop` jobs (steps=0) to both
webs from 8 threads; a run ends when Celery stored a result for every job. The broker is
the store's Redis, or the machine's RabbitMQ (a virtual host and a forwarder of our own
on the root namespace's leg, since RabbitMQ listens on 127.0.0.1 only). The job store and
results are on the store's Redis in both cases.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
import requests

from bench.harness import Figure, wait_done
from bench.jobs import NOOP
from tests import brokers
from tests.hosts.netns import Network, unavailable_reason
from tests.hosts.services import HostProcesses, start_redis, wait_for

HOSTS = ["store", "web1", "web2", "worker1", "worker2", "worker3"]
WEBS = ["web1", "web2"]
AMQP_PORT = 5672


def submit_many(net: Network, n: int) -> list[str]:
    """`n` noop jobs from 8 client threads, alternating the two webs; their ids."""

    def batch(i: int) -> list[str]:
        count = n // 8 + (1 if i < n % 8 else 0)
        web = net.hosts[WEBS[i % 2]].address
        with requests.Session() as s:
            s.trust_env = False
            out = []
            for _ in range(count):
                r = s.post(
                    f"http://{web}:8000/api/reports",
                    json=NOOP,
                    headers={"Cache-Control": "no-cache"},  # computed, never a reused result
                    timeout=30,
                )
                assert r.status_code == 202, r.text
                out.append(r.json()["id"])
            return out

    with ThreadPoolExecutor(8) as pool:
        return [i for ids in pool.map(batch, range(8)) for i in ids]


class HostsBench:
    """The network, the store's Redis and the processes of one benchmark run."""

    def __init__(self, log_dir: Path) -> None:
        self.net = Network.create(HOSTS)
        self.procs = HostProcesses(self.net, log_dir)
        self.redis_url = start_redis(self.procs, "store")
        self.redis = redis.Redis.from_url(self.redis_url, decode_responses=True)
        self.forwarder: subprocess.Popen[bytes] | None = None

    def amqp_url(self) -> str:
        """A fresh RabbitMQ virtual host, reached through a forwarder on the root leg."""
        if self.forwarder is None:
            self.forwarder = subprocess.Popen(
                [sys.executable, "-m", "tests.hosts.relay", "--listen", self.net.client_address,
                 "--port", str(AMQP_PORT), "--delay-ms", "0", "--jitter-ms", "0",
                 "--target", f"127.0.0.1:{AMQP_PORT}"],
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
            time.sleep(0.5)
        local = brokers.new_vhost()
        return local.replace("127.0.0.1", self.net.client_address)

    def env(self, broker_url: str) -> dict[str, str]:
        """A platform's variables for every process of one configuration."""
        return {
            "PORT": "8000",
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": broker_url,
            "DATABASE_URL": f"sqlite:///{self.net.workdir / 'unused.db'}",
            "WEB_CONCURRENCY": "1",
            "WORKER_CONCURRENCY": "2",
            "ENABLE_DIAGNOSTIC_REPORTS": "1",
            "LOG_LEVEL": "warning",
        }

    def measure(self, broker: str, workers: int, jobs: int, runs: int) -> Figure:
        """Jobs/s with `workers` worker hosts on `broker` (webs and workers started fresh)."""
        url = self.redis_url if broker == "redis" else self.amqp_url()
        env = self.env(url)
        for web in WEBS:
            self.procs.start_procfile(f"{broker}-{web}", web, "web", env)
        hosts = [f"worker{i + 1}" for i in range(workers)]
        for host in hosts:
            self.procs.start_procfile(f"{broker}-{workers}-{host}", host, "worker", env)
        for web in WEBS:
            address = self.net.hosts[web].address
            wait_for(lambda a=address: _answers(f"http://{a}:8000/healthz"), 60, web)
        for host in hosts:
            label = f"{broker}-{workers}-{host}"
            wait_for(lambda lb=label: " ready." in self.procs.log(lb), 60, label)
        wait_done(self.redis, submit_many(self.net, 16 * workers))  # warm every pool
        figure = Figure()
        for _ in range(runs):
            started = time.perf_counter()
            ids = submit_many(self.net, jobs)
            figure.add(jobs / (wait_done(self.redis, ids) - started))
        for label in [f"{broker}-{web}" for web in WEBS] + [
            f"{broker}-{workers}-{h}" for h in hosts
        ]:
            self.procs.stop(label)
        self.redis.flushdb()
        return figure

    def close(self) -> None:
        """Stop everything; remove the namespaces and virtual hosts."""
        try:
            self.procs.stop_all()
            if self.forwarder is not None:
                self.forwarder.kill()
                self.forwarder.wait(10)
            if brokers.created_any():
                brokers.delete_vhosts()
        finally:
            self.net.close()


def _answers(url: str) -> bool:
    try:
        with requests.Session() as s:
            s.trust_env = False
            return s.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=600, help="jobs per run")
    parser.add_argument("--runs", type=int, default=2, help="runs per configuration")
    parser.add_argument("--brokers", nargs="+", default=["redis", "rabbitmq"])
    args = parser.parse_args(argv)
    reason = unavailable_reason()
    if reason:
        print(f"bench.hosts needs namespace hosts: {reason}", file=sys.stderr)
        return 2
    import tempfile

    bench = HostsBench(Path(tempfile.mkdtemp(prefix="arh-bench-")))
    table: dict[tuple[str, int], Figure] = {}
    try:
        for broker in args.brokers:
            for workers in (1, 2, 3):
                fig = bench.measure(broker, workers, args.jobs, args.runs)
                table[broker, workers] = fig
                print(
                    f"{broker:9} {workers} worker host(s): {fig.text('{:.0f}')} jobs/s", flush=True
                )
    finally:
        bench.close()
    print(
        f"\ntrivial-job (noop, steps=0) throughput, jobs/s, median (min-max) of {args.runs} runs "
        f"of {args.jobs} jobs; 2 webs (1 gunicorn worker each), WORKER_CONCURRENCY=2 per host"
    )
    print(f"{'broker':10}" + "".join(f"{n} host(s)".rjust(18) for n in (1, 2, 3)) + "   3 vs 1")
    for broker in args.brokers:
        figs = [table[broker, n] for n in (1, 2, 3)]
        gain = figs[2].median / figs[0].median
        print(
            f"{broker:10}" + "".join(f.text("{:.0f}").rjust(18) for f in figs) + f"   {gain:.2f}x"
        )
    print(
        f"\nAll hosts share this machine's {os.cpu_count()} cores: webs, workers, Redis, RabbitMQ"
        "\nand the client compete for them, so more worker hosts add pool processes but no CPU."
        "\nA flat or falling curve means the machine is saturated (the cost per job, not a"
        "\nlimit of the design); on separate machines each host brings its own cores."
        "\nRabbitMQ is reached through a Python forwarder on the root leg (it listens on"
        "\n127.0.0.1 only), which costs CPU of its own."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
