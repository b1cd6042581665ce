"""Fixtures of the realtime tests: the trade-loop fixtures of orders, a websocket client on the
real ASGI application (real Redis channel layer) and JWTs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import RefreshToken

from orders.tests.conftest import engine_redis, lpj_krw, make_user, settle  # noqa: F401

ORIGIN = (b"origin", b"http://127.0.0.1")


def access_token(user: Any) -> str:
    return str(RefreshToken.for_user(user).access_token)


class Client:
    """A websocket client on ``tradehive.asgi.application`` speaking JSON."""

    def __init__(self, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        from tradehive.asgi import application

        self.ws = WebsocketCommunicator(application, "/ws/", headers=[ORIGIN, *(headers or [])])

    async def connect(self) -> None:
        connected, _ = await self.ws.connect()
        assert connected

    async def send(self, message: Any) -> None:
        await self.ws.send_to(
            text_data=message if isinstance(message, str) else json.dumps(message)
        )

    async def recv(self, timeout: float = 3) -> dict[str, Any]:
        return json.loads(await self.ws.receive_from(timeout=timeout))

    async def recv_until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self.recv(timeout=max(0.05, deadline - loop.time()))
            if predicate(message):
                return message

    async def nothing(self, timeout: float = 0.3) -> bool:
        return await self.ws.receive_nothing(timeout=timeout)

    async def close(self) -> None:
        await self.ws.disconnect()


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run an async scenario in a fresh event loop, stopping this loop's hub at the end."""
    from realtime.hub import hub_stop

    async def wrapped() -> None:
        try:
            await scenario()
        finally:
            await hub_stop()

    async_to_sync(wrapped)()
