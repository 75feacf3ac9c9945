"""A transparent TCP relay that adds latency, for kernels without netem.

Run inside a host's namespace (`python -m tests.hosts.relay --port P --delay-ms 50 ...`);
an nftables `redirect` sends the host's new outgoing TCP connections to it. It reads the
original destination (SO_ORIGINAL_DST), connects there with a socket mark the redirect
rule skips, and forwards each chunk leaving the host after delay +- jitter, keeping order, and each
chunk coming back at once: the latency netem adds on a host's eth0 (egress only).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import struct

SO_ORIGINAL_DST = 80


def original_destination(sock: socket.socket) -> tuple[str, int]:
    """Where a redirected connection was going."""
    raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, packed = struct.unpack_from("!2xH4s", raw)
    return socket.inet_ntoa(packed), port


async def pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float, jitter: float
) -> None:
    """Forward chunks, each no earlier than delay +- jitter after it arrived, in order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        while True:
            due, chunk = await queue.get()
            if not chunk:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    last = 0.0
    try:
        while chunk := await reader.read(65536):
            last = max(last, loop.time() + delay + random.uniform(-jitter, jitter))
            queue.put_nowait((last, chunk))
    except OSError:
        pass
    queue.put_nowait((last, b""))
    try:
        await sender
    except OSError:
        writer.transport.abort()


async def serve(
    port: int,
    delay: float,
    jitter: float,
    mark: int,
    listen: str = "0.0.0.0",
    fixed: tuple[str, int] | None = None,
) -> None:
    """Accept connections and relay each to its original destination (or to `fixed`)."""

    async def handle(c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        client: socket.socket = c_writer.get_extra_info("socket")
        target = fixed or original_destination(client)
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
        upstream.setblocking(False)
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(upstream, target), 10)
        except (OSError, TimeoutError):
            upstream.close()
            c_writer.transport.abort()
            return
        u_reader, u_writer = await asyncio.open_connection(sock=upstream)
        await asyncio.gather(
            pipe(c_reader, u_writer, delay, jitter),
            pipe(u_reader, c_writer, 0.0, 0.0),
        )

    server = await asyncio.start_server(handle, listen, port, reuse_address=True)
    print(f"listening on {port}: delay {delay * 1000:.0f} ms +- {jitter * 1000:.0f} ms", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=50)
    parser.add_argument("--jitter-ms", type=float, default=20)
    parser.add_argument("--mark", type=int, default=0)
    parser.add_argument("--listen", default="0.0.0.0")
    parser.add_argument("--target", default=None, help="HOST:PORT: a plain forwarder")
    args = parser.parse_args()
    fixed = None
    if args.target:
        host, _, port = args.target.rpartition(":")
        fixed = (host, int(port))
    asyncio.run(
        serve(args.port, args.delay_ms / 1000, args.jitter_ms / 1000, args.mark, args.listen, fixed)
    )


if __name__ == "__main__":
    main()
