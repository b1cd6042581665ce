"""The production layout past one machine, in miniature on this one (docs/scaling.md).

Two HTTP processes (gunicorn, compose's command) and a websocket one (uvicorn, the image's
command), production settings, behind nginx (``nginx/tradehive.conf``),
the engine on a three-master Redis Cluster (``ENGINE_REDIS_URL=redis+cluster://...``), Celery
worker and beat on RabbitMQ (a throw-away vhost), two settlement shards, and the Channels layer
on two Redis servers of its own (``CHANNELS_REDIS_URLS``). Two markets whose hash tags land on
different cluster nodes, one per settlement shard. Through nginx: two traders sign up, sign in
and deposit, makers rest, takers cross; both sides are settled in PostgreSQL, the ledger
balances (checked here and by the beat-scheduled ``ledger_check`` that went through RabbitMQ),
and a trade push reaches a websocket client through nginx."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path

import httpx
import pytest
import redis
import websockets
from cryptography.fernet import Fernet

from engine.keys import events_key
from markets.models import TradingPair
from markets.services import pair_create
from orders.models import Order, OrderStatus
from settlement.services import settlement_group_ensure
from tradehive.redis_client import get_redis
from tradehive.testing.deploy import compose_commands, on_loopback
from tradehive.testing.nginx import Proxy, nginx_proxy
from tradehive.testing.ports import free_ports
from tradehive.testing.processes import ROOT, process_env, wait_until
from tradehive.testing.redis_cluster import (
    LocalCluster,
    redis_binaries,
    redis_cluster,
    redis_standalone,
)
from tradehive.testing.services import service_missing
from wallets.seed import asset_seed_defaults
from wallets.verification import LAST_CHECK_KEY, ledger_verify

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Their hash tags lie on different masters of a three-master cluster (slots 2446 and 8288).
SYMBOLS = ("LPJ-KRW", "ETH-KRW")
PASSWORD = "a long enough passphrase 42"


@contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A throw-away RabbitMQ vhost for guest; yields its ``CELERY_BROKER_URL``."""
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    vhost = f"tradehive-scale-{secrets.token_hex(4)}"

    def run(*args: str) -> None:
        # S603: the machine's rabbitmqctl with our own literal arguments.
        subprocess.run([ctl, *args], check=True, capture_output=True, timeout=60)  # noqa: S603

    run("add_vhost", vhost)
    try:
        run("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        run("delete_vhost", vhost)


@dataclass
class Layout:
    proxy: Proxy
    cluster: LocalCluster
    channels_urls: list[str]
    logs: Path


@contextmanager
def processes(commands: dict[str, list[str]], env: dict[str, str], logs: Path) -> Iterator[None]:
    """Start every command (output to ``logs/<name>.log``), stop them all on exit; what a
    process printed is shown when it holds a traceback (pytest shows it for a failed test)."""
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, command in commands.items():
            with (logs / f"{name}.log").open("wb") as out:
                # S603: our own interpreter with literal arguments.
                started[name] = subprocess.Popen(  # noqa: S603
                    command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
                )
        yield
    finally:
        for process in started.values():
            process.terminate()
        for name, process in started.items():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            output = (logs / f"{name}.log").read_text(errors="replace")
            if "Traceback" in output:
                print(f"--- {name} ---\n{output[-3000:]}")  # noqa: T201


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://localhost:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def layout(django_db_setup, tmp_path: Path, settings) -> Iterator[Layout]:
    try:
        redis_binaries()
    except RuntimeError as exc:  # needs the machine's own Redis (>= 7)
        service_missing(str(exc))
    with ExitStack() as stack:
        cluster = stack.enter_context(redis_cluster())
        taken = [*cluster.ports]
        # the Channels layer on two Redis servers of its own (channels-redis shards over them)
        channels_urls = []
        for _ in range(2):
            channels_urls.append(stack.enter_context(redis_standalone(taken=taken)))
            taken.append(int(channels_urls[-1].rsplit(":", 1)[1].split("/")[0]))
        broker_url = stack.enter_context(rabbitmq_vhost())
        web_ports = free_ports(3, taken=taken)  # two HTTP (gunicorn), one websocket (uvicorn)
        web_ports, ws_ports = web_ports[:2], web_ports[2:]
        http_port, https_port = free_ports(2, taken=[*taken, *web_ports, *ws_ports])

        # this process (the test's own checks) uses the cluster too
        settings.ENGINE_REDIS_URL = cluster.url
        get_redis.cache_clear()
        stack.callback(get_redis.cache_clear)

        env = process_env(
            DJANGO_SETTINGS_MODULE="tradehive.settings.prod",
            SECRET_KEY=secrets.token_urlsafe(50),
            API_KEY_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
            ALLOWED_HOSTS="localhost",
            CSRF_TRUSTED_ORIGINS=f"https://localhost:{https_port}",
            SERVE_STATIC="0",
            TRUSTED_PROXIES="127.0.0.1",  # nginx reaches the web processes from 127.0.0.1
            LOG_FORMAT="plain",
            ENGINE_REDIS_URL=cluster.url,
            CHANNELS_REDIS_URLS=",".join(channels_urls),
            CELERY_BROKER_URL=broker_url,
            LEDGER_CHECK_INTERVAL_S="2",
            DB_POOL_MAX="4",
        )
        python = sys.executable
        deployed = compose_commands()  # compose's own web and websocket commands
        celery = [python, "-m", "celery", "-A", "tradehive"]
        commands = {
            **{
                f"web-{i}": on_loopback(deployed["web1"], port, workers=1)
                for i, port in enumerate(web_ports)
            },
            **{f"ws-{i}": on_loopback(deployed["ws1"], port) for i, port in enumerate(ws_ports)},
            "settle-0": [python, "manage.py", "settle", "--shard", "0/2"],
            "settle-1": [python, "manage.py", "settle", "--shard", "1/2"],
            "worker": [
                *celery,
                "worker",
                "-P",
                "threads",
                "-c",
                "4",
                "-Q",
                "celery,feeds,feeds-match",
                "-l",
                "warning",
            ],
            "beat": [*celery, "beat", "-l", "warning", "-s", str(tmp_path / "beat-schedule")],
        }
        stack.enter_context(processes(commands, env, tmp_path))
        nginx_dir = tmp_path / "nginx"
        nginx_dir.mkdir()
        proxy = stack.enter_context(
            nginx_proxy(
                app_ports=web_ports,
                ws_ports=ws_ports,
                http_port=http_port,
                https_port=https_port,
                directory=nginx_dir,
            )
        )
        for port in [*web_ports, *ws_ports]:
            wait_until(partial(_answers, port), timeout=40, what=f"web on {port}")
        yield Layout(proxy=proxy, cluster=cluster, channels_urls=channels_urls, logs=tmp_path)


def _markets() -> list[TradingPair]:
    assets = {a.symbol: a for a in asset_seed_defaults()}
    pairs = []
    for symbol in SYMBOLS:
        base, quote = symbol.split("-")
        pair = pair_create(
            base=assets[base],
            quote=assets[quote],
            tick_size=Decimal(1),
            lot_size=Decimal(1),
            min_notional=Decimal(1000),
            actor=None,
        )
        settlement_group_ensure(get_redis(), pair.symbol)
        pairs.append(pair)
    return pairs


def _signed_up(client: httpx.Client, username: str, deposits: dict[str, str]) -> dict[str, str]:
    """Register ``username``, sign in, deposit; the bearer header."""
    registered = client.post(
        "/api/v1/auth/register",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
    )
    assert registered.status_code == 201, registered.text
    tokens = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    bearer = {"Authorization": f"Bearer {tokens.json()['access']}"}
    for asset, amount in deposits.items():
        deposit = client.post(
            "/api/v1/wallet/deposits", headers=bearer, json={"asset": asset, "amount": amount}
        )
        assert deposit.status_code == 201, deposit.text
    return bearer


def _place(client: httpx.Client, bearer: dict[str, str], symbol: str, side: str) -> int:
    body = {"symbol": symbol, "side": side, "type": "limit", "quantity": "2", "price": "1000"}
    answer = client.post("/api/v1/orders", headers=bearer, json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_the_trade_loop_runs_through_the_scaled_out_layout(layout: Layout) -> None:
    # given two markets on different cluster nodes, one per settlement shard
    pairs = _markets()
    cluster = layout.cluster.client()
    homes = {cluster.get_node_from_key(events_key(p.symbol)).name for p in pairs}
    assert len(homes) == 2
    assert {p.pk % 2 for p in pairs} == {0, 1}
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
    # verify=False: the same self-signed certificate
    client = httpx.Client(base_url=layout.proxy.https, verify=False, timeout=15)  # noqa: S501

    def trade() -> dict[str, list[int]]:
        maker = _signed_up(client, "scale_maker", {"LPJ": "10", "ETH": "10"})
        taker = _signed_up(client, "scale_taker", {"KRW": "100000"})
        makers = [_place(client, maker, symbol, "sell") for symbol in SYMBOLS]
        takers = [_place(client, taker, symbol, "buy") for symbol in SYMBOLS]
        return {"makers": makers, "takers": takers}

    groups_while_subscribed: list[bytes] = []

    async def scenario() -> tuple[dict[str, list[int]], dict]:
        url = f"{layout.proxy.wss}/ws/"
        async with websockets.connect(url, ssl=context) as ws:
            await ws.send(json.dumps({"op": "subscribe", "channels": ["trades:LPJ-KRW"]}))
            subscribed = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert subscribed["op"] == "subscribed", subscribed
            for channels_url in layout.channels_urls:
                with redis.Redis.from_url(channels_url) as channels:
                    groups_while_subscribed.extend(channels.keys("ws*"))
            # when the traders sign up, deposit and trade over HTTPS through nginx
            orders = await asyncio.to_thread(trade)
            deadline = time.monotonic() + 30
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
                if message.get("channel") == "trades:LPJ-KRW":
                    return orders, message

    orders, pushed = asyncio.run(scenario())
    client.close()

    # then both sides of both markets are settled in PostgreSQL by the two shards
    ids = orders["makers"] + orders["takers"]

    def settled() -> bool:
        return all(
            status == OrderStatus.FILLED
            for status in Order.objects.filter(pk__in=ids).values_list("status", flat=True)
        )

    wait_until(settled, timeout=20, what="both markets' orders filled")
    settled_at = time.time()
    assert Order.objects.filter(pk__in=ids).count() == 4
    assert ledger_verify() == []
    # and the websocket client got the trade through nginx, from the Channels Redis
    assert "1000" in json.dumps(pushed)
    assert groups_while_subscribed, "the Channels layer did not use its own Redis servers"
    # and the engine's state lives on the cluster, each market in its own slot
    for pair in pairs:
        assert cluster.xlen(events_key(pair.symbol)) >= 2

    # and Celery beat + worker ran ledger_check through RabbitMQ after the settlement, and it
    # passed (its outcome is kept on the engine's Redis, the cluster)
    def checked_since(moment: float) -> bool:
        last = cluster.hgetall(LAST_CHECK_KEY)
        return bool(last) and float(last["at"]) > moment

    wait_until(lambda: checked_since(settled_at), timeout=15, what="ledger_check through Celery")
    assert cluster.hgetall(LAST_CHECK_KEY)["ok"] == "1"
    cluster.close()
