"""Websockets the client gives up on: the ASGI server ``make run`` starts (the launcher's own
``web`` command: uvicorn with the sans-I/O websockets protocol) must log no traceback when a
client closes right after the upgrade, during the handshake, or while frames are on their way."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
from collections.abc import Iterator

import pytest
import websockets
from websockets.typing import Origin

from tradehive.embedded_redis import free_port, wait_for_port
from tradehive.launcher import ROOT, process_table
from tradehive.testing.processes import process_env, stop

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def web(lpj_krw) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    # S603: the launcher's own command line for the web process.
    process = subprocess.Popen(  # noqa: S603
        process_table(port)["web"],
        cwd=ROOT,
        env=process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=30)
        yield port, process
    finally:
        stop(process)


async def _abandon_during_handshake(port: int, *, read_answer: bool) -> None:
    """Send the upgrade request and drop the TCP connection (with or without reading the 101)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:{port}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    if read_answer:
        await reader.read(12)
    writer.transport.abort()


async def _subscribe_and_leave(port: int, *, politely: bool) -> None:
    ws = await websockets.connect(
        f"ws://127.0.0.1:{port}/ws/", origin=Origin(f"http://127.0.0.1:{port}")
    )
    await ws.send(
        json.dumps(
            {"op": "subscribe", "channels": ["ticker:LPJ-KRW", "depth:LPJ-KRW", "trades:LPJ-KRW"]}
        )
    )
    if politely:
        await ws.close()
    else:
        ws.transport.abort()


def test_clients_that_leave_right_after_the_upgrade_leave_no_traceback(web) -> None:
    # given the web process of make run
    port, process = web

    # when clients drop the connection during and right after the handshake, and others close
    # (or vanish) while their subscriptions' first frames are being sent
    async def scenario() -> None:
        for index in range(20):
            await _abandon_during_handshake(port, read_answer=index % 2 == 1)
        for index in range(10):
            await _subscribe_and_leave(port, politely=index % 2 == 0)
        await asyncio.sleep(1)  # let the server finish with them

    asyncio.run(scenario())

    # and a later client is served as usual
    async def ping() -> dict[str, str]:
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/ws/", origin=Origin(f"http://127.0.0.1:{port}")
        ) as ws:
            await ws.send(json.dumps({"op": "ping"}))
            return json.loads(await ws.recv())

    assert asyncio.run(ping()) == {"op": "pong"}

    # then the server logged no traceback and no error
    output = stop(process)
    assert "Traceback" not in output, output[-4000:]
    assert "ERROR" not in output, output[-4000:]
