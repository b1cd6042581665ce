"""Bodies over ``REQUEST_BODY_MAX_BYTES`` get 413 ``payload_too_large`` before they are read:
through Django (test client) and through a real uvicorn running ``tradehive.asgi``, where a
100 MiB body, declared or chunked, is refused at once and the process does not grow."""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from tradehive.embedded_redis import free_port, wait_for_port
from tradehive.testing.processes import ROOT, process_env, stop

MIB = 1024 * 1024


def test_a_body_over_the_limit_gets_413_with_the_envelope_and_changes_nothing(db) -> None:
    # given a registration padded past the limit
    padding = " " * settings.REQUEST_BODY_MAX_BYTES
    body = '{"username": "big", "email": "big@example.com", "password": "long enough 42 x"%s}'
    # when
    answer = Client().post(
        "/api/v1/auth/register", data=body % padding, content_type="application/json"
    )
    # then
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"
    assert not User.objects.filter(username="big").exists()


def test_a_body_within_the_limit_reaches_the_view(db) -> None:
    # given a registration padded to just under the limit
    body = '{"username": "fits", "email": "fits@example.com", "password": "long enough 42 x"%s}'
    padding = " " * (settings.REQUEST_BODY_MAX_BYTES - len(body))
    # when
    answer = Client().post(
        "/api/v1/auth/register", data=body % padding, content_type="application/json"
    )
    # then
    assert answer.status_code == 201, answer.content[:300]


def test_the_django_upload_limits_agree_with_the_body_limit() -> None:
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == settings.REQUEST_BODY_MAX_BYTES
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE == settings.REQUEST_BODY_MAX_BYTES
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS <= 1000


# --- a real uvicorn -------------------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _post_huge(port: int, *, total: int, chunked: bool) -> tuple[bytes, float, int]:
    """POST ``total`` bytes to /api/v1/auth/register, stopping as soon as the server answers.
    Returns (the answer's bytes, seconds to the answer, body bytes sent)."""
    head = [
        b"POST /api/v1/auth/register HTTP/1.1",
        b"Host: localhost",
        b"Content-Type: application/json",
    ]
    head.append(b"Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}".encode())
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    chunk = b" " * (64 * 1024)
    frame = (b"%x\r\n" % len(chunk)) + chunk + b"\r\n" if chunked else chunk
    sent, answer = 0, b""
    started = time.monotonic()
    try:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n")
        while time.monotonic() - started < 30:
            readable, writable, _ = select.select([sock], [sock] if sent < total else [], [], 5)
            if readable:
                break
            if writable:
                try:
                    sock.send(frame)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += len(chunk)
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    finally:
        sock.close()
    return answer, time.monotonic() - started, sent


@pytest.fixture(scope="module")
def uvicorn_port(django_db_setup) -> Iterator[tuple[int, int]]:
    port = free_port()
    # S603: our own interpreter running uvicorn on the project's ASGI app.
    web = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tradehive.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        cwd=ROOT,
        env=process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=30)
        yield port, web.pid
    finally:
        output = stop(web)
        if "Traceback" in output:
            print(output[-4000:])  # noqa: T201 - shown by pytest only when a test fails


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_uvicorn_refuses_a_100_mib_body_at_once_without_growing(
    uvicorn_port: tuple[int, int], chunked: bool
) -> None:
    port, pid = uvicorn_port
    # given a warm server (one refused body already, so lazy imports are done)
    _post_huge(port, total=2 * MIB, chunked=chunked)
    before = _rss_kib(pid)
    # when 100 MiB are sent
    answer, seconds, sent = _post_huge(port, total=100 * MIB, chunked=chunked)
    grown = _rss_kib(pid) - before
    # then the answer is 413 with the envelope, soon, long before the body could have been sent
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b'"code": "payload_too_large"' in answer
    assert seconds < 5, seconds
    assert sent < 50 * MIB, sent
    assert grown < 5 * 1024, f"the web process grew by {grown} KiB"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_uvicorn_passes_a_chunked_body_within_the_limit_to_django(
    uvicorn_port: tuple[int, int],
) -> None:
    port, _pid = uvicorn_port
    body = b'{"username": "chunky", "email": "chunky@example.com", "password": "long enough 42"}'
    # given a body in two chunks, with no Content-Length
    frames = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:20], body[20:]))
    request = (
        b"POST /api/v1/auth/register HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n" + frames + b"0\r\n\r\n"
    )
    # when
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    # then Django got the whole body and registered the user
    assert answer.startswith(b"HTTP/1.1 201"), answer[:500]
    assert User.objects.filter(username="chunky").exists()
