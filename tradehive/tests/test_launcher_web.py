"""The web process ``make run`` starts, run for real: debug off unless asked for, static files
still served, and websocket frames past the protocol's limit closing the connection (1009)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from django.conf import settings

from realtime.protocol import MAX_MESSAGE_CHARS
from tradehive.embedded_redis import free_port, wait_for_port
from tradehive.launcher import launch_environ_apply, process_table
from tradehive.testing.processes import ROOT, process_env, stop


def test_the_launchers_environment_has_debug_off_unless_asked_for() -> None:
    # given an environment without DEBUG, and one with DEBUG=1
    plain: dict[str, str] = {}
    asked = {"DEBUG": "1"}
    # when the launcher fills in its defaults
    launch_environ_apply(plain)
    launch_environ_apply(asked)
    # then debug is off, except where it was asked for
    assert plain["DEBUG"] == "0"
    assert plain["DJANGO_SETTINGS_MODULE"] == "tradehive.settings.dev"
    assert asked["DEBUG"] == "1"


def test_the_launchers_settings_have_debug_off() -> None:
    # given the launcher's environment over one without DEBUG
    env = {k: v for k, v in process_env().items() if k not in {"DEBUG", "DJANGO_SETTINGS_MODULE"}}
    launch_environ_apply(env)
    # when a child process reads its settings
    # S603: our own interpreter printing a setting.
    answer = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "from django.conf import settings; print(settings.DEBUG)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    # then
    assert answer.stdout.strip() == "False"


def test_the_websocket_frame_limit_fits_the_protocol_and_reaches_every_server() -> None:
    # then the largest legal message (MAX_MESSAGE_CHARS characters of up to 4 UTF-8 bytes) fits
    assert settings.WS_MAX_MESSAGE_BYTES >= 4 * MAX_MESSAGE_CHARS
    assert settings.WS_MAX_MESSAGE_BYTES <= 1024 * 1024
    # and the launcher and the Docker image pass it to uvicorn
    web = process_table(8000)["web"]
    assert web[web.index("--ws-max-size") + 1] == str(settings.WS_MAX_MESSAGE_BYTES)
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert re.search(r'"--ws-max-size", "(\d+)"', dockerfile).group(1) == str(  # type: ignore[union-attr]
        settings.WS_MAX_MESSAGE_BYTES
    )


@pytest.fixture(scope="module")
def launched_web(django_db_setup) -> Iterator[int]:
    """The launcher's web command, in the launcher's environment (no DEBUG given)."""
    port = free_port()
    env = {k: v for k, v in process_env().items() if k not in {"DEBUG", "DJANGO_SETTINGS_MODULE"}}
    launch_environ_apply(env)
    # S603: the launcher's own command line.
    web = subprocess.Popen(  # noqa: S603
        process_table(port)["web"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=30)
        yield port
    finally:
        output = stop(web)
        if "Traceback" in output:
            print(output[-4000:])  # noqa: T201 - shown by pytest only when a test fails


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_make_run_shows_no_debug_page_and_still_serves_static_files(launched_web: int) -> None:
    base = f"http://127.0.0.1:{launched_web}"
    # when
    missing = httpx.get(f"{base}/no-such-page/", timeout=10)
    css = httpx.get(f"{base}/static/css/site.css", timeout=10)
    # then the 404 is the site's page, not Django's technical one
    assert missing.status_code == 404
    assert "URLconf" not in missing.text
    assert "DEBUG = True" not in missing.text
    assert (css.status_code, css.headers["content-type"]) == (200, "text/css")
    assert css.text == (Path(ROOT) / "static" / "css" / "site.css").read_text()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_frame_over_the_limit_closes_the_websocket_with_1009(launched_web: int, lpj_krw) -> None:
    url = f"ws://127.0.0.1:{launched_web}/ws/"

    async def reply(ws: websockets.ClientConnection) -> dict:
        """The next answer to an op (channel data, such as a ticker snapshot, is skipped)."""
        while "op" not in (message := json.loads(await asyncio.wait_for(ws.recv(), 5))):
            pass
        return message

    async def scenario() -> tuple[dict, dict, dict, int | None]:
        async with websockets.connect(url, max_size=None) as ws:
            await ws.send(json.dumps({"op": "subscribe", "channels": ["ticker:LPJ-KRW"]}))
            subscribed = await reply(ws)
            # a frame the application refuses by itself (over its character limit)
            await ws.send(json.dumps({"op": "ping", "pad": "x" * MAX_MESSAGE_CHARS}))
            too_long = await reply(ws)
            await ws.send(json.dumps({"op": "ping"}))
            pong = await reply(ws)
            # a frame over the server's limit
            await ws.send("x" * (settings.WS_MAX_MESSAGE_BYTES + 1))
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
            return subscribed, too_long, pong, code

    # when
    subscribed, too_long, pong, code = asyncio.run(scenario())
    # then a normal subscribe works, a long message gets the protocol's error and the connection
    # stays up, and a frame past the limit closes it with 1009 (message too big)
    assert subscribed["op"] == "subscribed"
    assert too_long["code"] == "message_too_large"
    assert pong["op"] == "pong"
    assert code == 1009
