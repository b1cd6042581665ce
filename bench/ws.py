"""WebSocket fan-out: N concurrent connections to this machine's uvicorn processes, subscribed
to the tickers of 20 markets that update 4 times a second.

Usage: ``.venv/bin/python bench/ws.py [--connections 10000] [--workers 2] [--clients 2]
[--seconds 20] [--markets-per-connection 1] [--client lean] [--no-record]``.

Own stores only: a fresh embedded PostgreSQL in a temporary ``TRADEHIVE_VAR_DIR`` (migrated, 20
markets ``W00-KRW`` .. ``W19-KRW``) and Redis ``TH_BENCH_REDIS_URL`` (default
``redis://127.0.0.1:6379/6``; nothing is flushed). Traffic: 127.0.0.1 only.

1. Starts ``--workers`` uvicorn processes (``tradehive.asgi:application``, one port each, the
   launcher's flags: no per-message deflate, no access log, large backlog).
2. ``--clients`` client processes (``--client lean``, the default: a minimal asyncio.Protocol
   client that finds the send time by a byte search, so the bench measures the server, not its
   own JSON decoding; ``--client websockets``: the websockets library) open their share of
   ``--connections`` spread over the workers (at most 500 handshakes in flight per client), and
   each connection subscribes to ``--markets-per-connection`` tickers (round robin).
3. Once everyone is connected, a publisher sends each market's ticker 4 times a second for
   ``--seconds`` through the channel layer, exactly as the coalescer does (``{"type": "push",
   "channel": "ticker:SYM", ...}`` to group ``ticker.SYM``); each message carries its send time.
4. Reported: connections opened / asked, delivery latency p50/p99 (send -> client receive),
   messages delivered vs expected, server RSS per connection (RSS after connecting minus RSS
   before, over the connections). Prints a table, appends it (dated) under
   "## WebSocket fan-out (bench/ws.py)" in docs/benchmarks.md, ends with
   ``RESULT ws_connections <connected> connections``."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HEADING = "## WebSocket fan-out (bench/ws.py)"
MARKETS = [f"W{i:02d}-KRW" for i in range(20)]
TICKS_PER_SECOND = 4


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(env: dict[str, str]) -> None:
    # S603: our own interpreter with literal arguments, here and below.
    subprocess.run(  # noqa: S603 - our own binary and literal arguments
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    code = (
        "import django; django.setup()\n"
        "from decimal import Decimal\n"
        "from wallets.models import Asset\n"
        "from wallets.seed import asset_seed_defaults\n"
        "from markets.services import pair_create\n"
        "krw = {a.symbol: a for a in asset_seed_defaults()}['KRW']\n"
        f"for symbol in {[m.split('-')[0] for m in MARKETS]!r}:\n"
        "    base, _ = Asset.objects.get_or_create(symbol=symbol, defaults={'name': symbol,"
        " 'decimals': 4})\n"
        "    pair_create(base=base, quote=krw, tick_size=Decimal(1), lot_size=Decimal(1),"
        " min_notional=Decimal(1000), maker_fee=Decimal('0.001'), taker_fee=Decimal('0.002'),"
        " actor=None)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)  # noqa: S603


def cpu_seconds(groups: dict[str, list[int]]) -> dict[str, float]:
    """utime + stime (children not included) of each group of processes, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    # the whole machine (all processes, interrupts included): user+nice+system+irq+softirq+steal
    cpu = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    used["machine"] = sum(int(cpu[i]) for i in (0, 1, 2, 5, 6, 7)) / tick
    for name, pids in groups.items():
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        used[name] = total / tick
    return used


def redis_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "redis-server":
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


# --- the client processes ------------------------------------------------------------------------


def client_main(
    index: int,
    ports: list[int],
    count: int,
    first: int,
    per_conn: int,
    seconds: float,
    inbox: mp.Queue,
    go: mp.Event,
    kind: str = "lean",
) -> None:
    raise_fd_limit()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    run = lean_client_run if kind == "lean" else client_run
    asyncio.run(run(index, ports, count, first, per_conn, seconds, inbox, go))


async def client_run(
    index: int,
    ports: list[int],
    count: int,
    first: int,
    per_conn: int,
    seconds: float,
    inbox: mp.Queue,
    go: mp.Event,
) -> None:
    import websockets

    latencies: list[float] = []
    received = [0]
    failures: dict[str, int] = {}
    sockets: list = []
    handshake = asyncio.Semaphore(500)

    async def one(n: int) -> None:
        port = ports[n % len(ports)]
        try:
            async with handshake:
                ws = await websockets.connect(
                    f"ws://127.0.0.1:{port}/ws/",
                    origin=f"http://127.0.0.1:{port}",
                    open_timeout=60,
                    ping_interval=None,
                    max_queue=None,
                    compression=None,
                )
                names = [f"ticker:{MARKETS[(n + k) % len(MARKETS)]}" for k in range(per_conn)]
                await ws.send(json.dumps({"op": "subscribe", "channels": names}))
                reply = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if reply.get("op") != "subscribed":
                    raise RuntimeError(reply.get("code", "not subscribed"))
        except Exception as exc:  # a refused or failed connection is counted, not fatal
            key = type(exc).__name__
            failures[key] = failures.get(key, 0) + 1
            return
        sockets.append(ws)
        try:
            async for raw in ws:
                now = time.time()
                message = json.loads(raw)
                sent = (message.get("data") or {}).get("sent")
                if sent is not None:
                    latencies.append(now - sent)
                    received[0] += 1
        except Exception:
            failures["dropped"] = failures.get("dropped", 0) + 1

    tasks = [asyncio.create_task(one(first + i)) for i in range(count)]
    started = time.monotonic()
    while len(sockets) + sum(failures.values()) < count and time.monotonic() - started < 300:
        await asyncio.sleep(0.2)
    inbox.put(("connected", index, len(sockets), dict(failures), time.monotonic() - started))
    while not go.is_set():
        await asyncio.sleep(0.1)
    await asyncio.sleep(seconds + 3)  # the publisher's run plus time for stragglers
    inbox.put(("done", index, received[0], latencies, dict(failures)))
    for ws in sockets:
        ws.transport.abort()
    for task in tasks:
        task.cancel()


# --- the lean client (default): one asyncio.Protocol per connection ---------------------------
# The handshake is written by hand, server frames (unmasked) are split by their header, and
# the latency comes from a byte search for the publisher's ``"sent":`` in each text frame: no
# JSON decoding, one clock read per socket read (every frame of that read arrived then).

SENT_KEY = b'"sent":'


def ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A client frame: FIN, masked with the all-zero key (RFC 6455 allows any key), so the
    payload goes out as is."""
    size = len(payload)
    if size < 126:
        head = bytes([0x80 | opcode, 0x80 | size])
    elif size < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + size.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


class LeanClient(asyncio.Protocol):
    def __init__(self, request: bytes, subscribe: bytes, latencies, state: dict) -> None:
        self.request = request
        self.subscribe = subscribe
        self.latencies = latencies
        self.state = state
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.upgraded = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before subscribed"))
        elif not self.state["stopping"]:
            self.state["dropped"] += 1

    def fail(self, why: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(why))
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buffer + data if self.buffer else data
        pos = 0
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end == -1:
                self.buffer = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.fail(buf[: buf.find(b"\r\n")].decode(errors="replace"))
                return
            self.upgraded = True
            self.transport.write(self.subscribe)
            pos = end + 4
        size = len(buf)
        latencies = self.latencies
        while size - pos >= 2:
            length = buf[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buf[start : start + 2], "big")
                start += 2
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[start : start + 8], "big")
                start += 8
            end = start + length
            if end > size:
                break
            opcode = buf[pos] & 0x0F
            if opcode == 0x1:
                i = buf.find(SENT_KEY, start, end)
                if i != -1:
                    i += 7
                    j = buf.find(b"}", i, end)
                    comma = buf.find(b",", i, j)
                    latencies.append(now - float(buf[i : j if comma == -1 else comma]))
                elif not self.ready.done():
                    frame = buf[start:end]
                    if b'"op":"subscribed"' in frame:
                        self.ready.set_result(None)
                    elif b'"op":"error"' in frame:
                        self.fail(frame.decode(errors="replace"))
                        return
            elif opcode == 0x9:  # ping: pong with the same payload
                self.transport.write(ws_frame(buf[start:end], 0xA))
            elif opcode == 0x8:
                self.transport.close()
                return
            pos = end
        self.buffer = buf[pos:] if pos < size else b""


async def lean_client_run(
    index: int,
    ports: list[int],
    count: int,
    first: int,
    per_conn: int,
    seconds: float,
    inbox: mp.Queue,
    go: mp.Event,
) -> None:
    from array import array

    loop = asyncio.get_running_loop()
    latencies = array("d")
    state = {"dropped": 0, "stopping": False}
    failures: dict[str, int] = {}
    clients: list[LeanClient] = []
    handshake = asyncio.Semaphore(500)

    async def one(n: int) -> None:
        port = ports[n % len(ports)]
        request = (
            f"GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:{port}\r\n\r\n"
        ).encode()
        names = [f"ticker:{MARKETS[(n + k) % len(MARKETS)]}" for k in range(per_conn)]
        subscribe = ws_frame(json.dumps({"op": "subscribe", "channels": names}).encode())
        try:
            async with handshake:
                _, client = await asyncio.wait_for(
                    loop.create_connection(
                        lambda: LeanClient(request, subscribe, latencies, state), "127.0.0.1", port
                    ),
                    60,
                )
                await asyncio.wait_for(asyncio.shield(client.ready), 60)
        except Exception as exc:  # a refused or failed connection is counted, not fatal
            key = type(exc).__name__
            failures[key] = failures.get(key, 0) + 1
            return
        clients.append(client)

    started = time.monotonic()
    await asyncio.gather(*(one(first + i) for i in range(count)))
    inbox.put(("connected", index, len(clients), dict(failures), time.monotonic() - started))
    while not go.is_set():
        await asyncio.sleep(0.1)
    await asyncio.sleep(seconds + 3)  # the publisher's run plus time for stragglers
    state["stopping"] = True
    if state["dropped"]:
        failures["dropped"] = state["dropped"]
    inbox.put(("done", index, len(latencies), latencies.tobytes(), dict(failures)))
    for client in clients:
        client.transport.abort()


# --- the publisher -------------------------------------------------------------------------------


async def publish(seconds: float) -> int:
    import django

    django.setup()
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    sent = 0
    interval = 1 / TICKS_PER_SECOND
    started = time.monotonic()
    tick = 0
    while time.monotonic() - started < seconds:
        for n, symbol in enumerate(MARKETS):
            channel = f"ticker:{symbol}"
            await layer.group_send(
                f"ticker.{symbol}",
                {
                    "type": "push",
                    "channel": channel,
                    "ts": int(time.time() * 1000),
                    "data": {
                        "symbol": symbol,
                        "last": str(1000 + tick % 50 + n),
                        "sent": time.time(),
                    },
                },
            )
            sent += 1
        tick += 1
        await asyncio.sleep(max(0.0, started + tick * interval - time.monotonic()))
    return sent


def record(section: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    content = path.read_text() if path.exists() else "# Benchmarks\n"
    start = content.find(HEADING)
    if start == -1:
        content = content.rstrip("\n") + "\n\n" + HEADING + "\n"
        start = content.find(HEADING)
    following = content.find("\n## ", start + len(HEADING))
    end = len(content) if following == -1 else following
    content = content[:end].rstrip("\n") + "\n\n" + section + content[end:]
    path.write_text(content.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--markets-per-connection", type=int, default=1)
    parser.add_argument(
        "--ws", default="websockets-sansio", help="uvicorn's websocket implementation"
    )
    parser.add_argument(
        "--client",
        choices=["lean", "websockets"],
        default="lean",
        help="lean: a minimal asyncio.Protocol client (byte search for the send "
        "time, no JSON); websockets: the websockets library + json.loads",
    )
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    limit = raise_fd_limit()
    var_dir = tempfile.mkdtemp(prefix="th_bench_ws_")
    redis_url = os.environ.get("TH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
    env = {
        **os.environ,
        "TRADEHIVE_VAR_DIR": var_dir,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "tradehive.settings.test",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_URL", None)
    os.environ.update(
        {k: env[k] for k in ("TRADEHIVE_VAR_DIR", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    )
    os.environ.pop("DATABASE_URL", None)
    from tradehive.embedded_postgres import ensure_database_url

    # A fresh embedded PostgreSQL in the temporary var dir, stopped when the bench exits.
    env["DATABASE_URL"] = ensure_database_url() or ""
    prepare_database(env)

    ports = [free_port() for _ in range(args.workers)]
    workers = [
        subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tradehive.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--ws-per-message-deflate",
                "false",
                "--no-access-log",
                "--backlog",
                "8192",
                "--log-level",
                "warning",
                "--ws",
                args.ws,
            ],
            cwd=ROOT,
            env=env,
            preexec_fn=raise_fd_limit,
        )
        for port in ports
    ]
    try:
        from tradehive.embedded_redis import wait_for_port

        for port in ports:
            wait_for_port(port, timeout=30)
        time.sleep(1)
        rss_before = rss_kib([w.pid for w in workers])

        inbox: mp.Queue = mp.Queue()
        go = mp.Event()
        share = [
            args.connections // args.clients + (i < args.connections % args.clients)
            for i in range(args.clients)
        ]
        clients = []
        first = 0
        for i, count in enumerate(share):
            process = mp.Process(
                target=client_main,
                args=(
                    i,
                    ports,
                    count,
                    first,
                    args.markets_per_connection,
                    args.seconds,
                    inbox,
                    go,
                    args.client,
                ),
            )
            process.start()
            clients.append(process)
            first += count
        connected, failures, connect_s = 0, {}, 0.0
        for _ in clients:
            _, _, ok, failed, took = inbox.get(timeout=400)
            connected += ok
            connect_s = max(connect_s, took)
            for key, value in failed.items():
                failures[key] = failures.get(key, 0) + value
        time.sleep(2)
        rss_after = rss_kib([w.pid for w in workers])
        print(
            f"connected {connected}/{args.connections} in {connect_s:.1f}s {failures}",
            file=sys.stderr,
        )

        watched = {
            "server": [w.pid for w in workers],
            "clients": [c.pid for c in clients],
            "publisher": [os.getpid()],
            "redis": redis_pids(),
        }
        cpu_before, wall_before = cpu_seconds(watched), time.monotonic()
        go.set()
        sent = asyncio.run(publish(args.seconds))
        cpu_after, wall = cpu_seconds(watched), time.monotonic() - wall_before
        cpu_use = {k: (cpu_after[k] - cpu_before[k]) / wall for k in cpu_after}
        received, latencies = 0, []
        for _ in clients:
            _, _, got, lat, failed = inbox.get(timeout=120)
            received += got
            if isinstance(lat, bytes):
                from array import array

                lat_array = array("d")
                lat_array.frombytes(lat)
                lat = lat_array.tolist()
            latencies += lat
            for key, value in failed.items():
                if key == "dropped":
                    failures[key] = failures.get(key, 0) + value
        for process in clients:
            process.join(timeout=30)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()

    latencies.sort()
    per_market_msgs = sent / len(MARKETS)
    expected = int(connected * args.markets_per_connection * per_market_msgs)
    p50 = 1000 * statistics.median(latencies) if latencies else float("nan")
    p99 = 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")
    per_conn = (rss_after - rss_before) / max(1, connected)
    section = "\n".join(
        [
            f"{time.strftime('%Y-%m-%d %H:%M')}: {os.cpu_count()} cores (server and clients on the "
            f"same machine), {args.workers} uvicorn workers, {args.clients} client processes, "
            f"{args.client} client, {args.markets_per_connection} ticker(s) per connection, "
            f"20 markets x "
            f"{TICKS_PER_SECOND}/s for {args.seconds:.0f}s, uvicorn --ws {args.ws}, "
            f"fd limit {limit}, "
            f"channel layer "
            f"{os.environ.get('TH_CHANNEL_LAYER', 'from settings')}.",
            "",
            "| connections asked | connected | success | connect time | msgs expected | "
            "msgs delivered | delivery p50 | delivery p99 | server RSS / connection | "
            "CPU cores server / clients / publisher / redis / whole machine |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            f"| {args.connections:,} | {connected:,} | {100 * connected / args.connections:.1f}% | "
            f"{connect_s:.1f} s | {expected:,} | {received:,} | {p50:.0f} ms | {p99:.0f} ms | "
            f"{per_conn:.1f} KiB | {cpu_use['server']:.2f} / {cpu_use['clients']:.2f} / "
            f"{cpu_use['publisher']:.2f} / {cpu_use['redis']:.2f} / {cpu_use['machine']:.2f} |",
            "",
            f"Failures: {failures or 'none'}.",
            "",
        ]
    )
    print(section)
    if not args.no_record:
        record(section)
    met = connected == args.connections and p99 < 500
    print(f"goal (100% connected, p99 < 500 ms) {'met' if met else 'NOT met'}", file=sys.stderr)
    print(f"RESULT ws_connections {connected if met else 0} connections")


if __name__ == "__main__":
    main()
