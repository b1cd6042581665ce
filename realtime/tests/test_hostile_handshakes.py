"""Websocket handshakes carrying a NUL (the path, the query, a header, a quoted session cookie
spelling it "\\000") are refused before the session is looked up: PostgreSQL cannot compare text
holding a NUL, and the lookup failed with a DataError inside the handshake."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from realtime.tests.conftest import ORIGIN, run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/ws/", [ORIGIN, (b"cookie", b'sessionid="abcdefgh\\000"')]),
        ("/ws/", [ORIGIN, (b"cookie", b"csrftoken=a\x00b")]),
        ("/ws/?token=%00", [ORIGIN]),
        ("/ws/\x00", [ORIGIN]),
        ("/ws/", [(b"origin", b"http://127.0.0.1\x00")]),
    ],
)
def test_a_handshake_carrying_a_nul_is_refused(lpj_krw, path, headers) -> None:
    async def scenario() -> None:
        from tradehive.asgi import application

        # given a handshake with a NUL somewhere in it
        ws = WebsocketCommunicator(application, path, headers=headers)
        # when it is made
        connected, code = await ws.connect()
        # then the server refuses it (a 403 to the client) instead of failing inside
        assert connected is False
        assert code == 1008
        await ws.disconnect()

    run(scenario)


def test_a_clean_handshake_with_a_session_cookie_still_connects(lpj_krw) -> None:
    async def scenario() -> None:
        from tradehive.asgi import application

        # given an ordinary handshake with an unknown session cookie
        ws = WebsocketCommunicator(
            application, "/ws/", headers=[ORIGIN, (b"cookie", b"sessionid=abcdefgh12345678")]
        )
        # when it is made
        connected, _ = await ws.connect()
        # then it is accepted (anonymous) and answers pings
        assert connected is True
        await ws.send_json_to({"op": "ping"})
        assert await ws.receive_json_from(timeout=3) == {"op": "pong"}
        await ws.disconnect()

    run(scenario)
