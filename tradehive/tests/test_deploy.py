"""The deployment files, exercised for real where this machine can.

- ``docker/compose.yml`` (no Docker engine here): every Celery queue the settings route tasks
  to has a worker, settlement shards cover every market, nginx mounts the tested config.
- ``nginx/tradehive.conf`` with Debian's nginx in front of a real uvicorn process running the
  production settings: TLS, the plain-HTTP redirect, security headers, static files, the JSON
  API and the browser login (CSRF over TLS), websocket upgrade, the body limit and the rate
  limits with API.md's 429 envelope.

The nginx config is the very file compose mounts, rendered for loopback: upstream servers,
listen ports, certificate paths and the static root are replaced, and each replacement must match
exactly once, so the test breaks if the file changes shape instead of testing something else.
Each test gets a fresh nginx (its rate-limit counters start empty); the app server is shared."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import secrets
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import websockets
import yaml
from cryptography.fernet import Fernet
from django.conf import settings

from accounts.models import AuditEvent
from tradehive.embedded_redis import free_port, wait_for_port
from tradehive.testing.deploy import COMPOSE, compose_commands, dockerfile_command, on_loopback
from tradehive.testing.nginx import Proxy, nginx_proxy
from tradehive.testing.processes import ROOT, process_env, stop

# A loopback address of its own for "a client on the internet": nginx and the app talk over
# 127.0.0.1 (the trusted proxy), so the client must be told apart from it.
OUTSIDE_CLIENT = "127.0.0.3"


# --- docker/compose.yml ---------------------------------------------------------------------------


def test_every_celery_queue_the_settings_route_to_has_a_compose_worker() -> None:
    # given the queues tasks are routed to (and Celery's default queue)
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} | {"celery"}
    # when reading the workers' -Q options
    consumed: set[str] = set()
    for command in compose_commands().values():
        if command[:4] == ["celery", "-A", "tradehive", "worker"]:
            assert "-Q" in command, f"a worker without -Q only serves 'celery': {command}"
            consumed |= set(command[command.index("-Q") + 1].split(","))
    # then every routed queue is served
    assert routed <= consumed, f"no worker for {sorted(routed - consumed)}"
    assert any(c[:4] == ["celery", "-A", "tradehive", "beat"] for c in compose_commands().values())


def test_compose_settlement_shards_cover_every_market_once() -> None:
    shards = [
        c[c.index("--shard") + 1]
        for c in compose_commands().values()
        if c[:3] == ["python", "manage.py", "settle"] and "--shard" in c
    ]
    unsharded = [
        c
        for c in compose_commands().values()
        if c[:3] == ["python", "manage.py", "settle"] and "--shard" not in c
    ]
    if unsharded:
        assert (len(unsharded), shards) == (1, [])
        return
    counts = {int(shard.split("/")[1]) for shard in shards}
    assert len(counts) == 1, shards
    count = counts.pop()
    assert sorted(int(shard.split("/")[0]) for shard in shards) == list(range(count))


def test_compose_nginx_mounts_the_tested_config() -> None:
    nginx = yaml.safe_load(COMPOSE.read_text())["services"]["nginx"]
    assert "../nginx/tradehive.conf:/etc/nginx/conf.d/default.conf:ro" in nginx["volumes"]


def test_compose_trusts_exactly_nginx_for_forwarded_addresses() -> None:
    # given compose's app environment, nginx's fixed address and the network's subnet
    compose = yaml.safe_load(COMPOSE.read_text())
    trusted = compose["x-app"]["environment"]["TRUSTED_PROXIES"]
    nginx_address = compose["services"]["nginx"]["networks"]["default"]["ipv4_address"]
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    # then the default trusted proxy is nginx (and nginx's address is in the subnet), and
    # uvicorn itself rewrites no address from headers
    assert trusted == f"${{TRUSTED_PROXIES:-{nginx_address}}}"
    assert ipaddress.ip_address(nginx_address) in ipaddress.ip_network(subnet)
    command = dockerfile_command()
    assert "--no-proxy-headers" in command
    assert "--proxy-headers" not in command
    assert "--forwarded-allow-ips" not in command
    # and gunicorn (HTTP) takes no address from headers either (it never rewrites REMOTE_ADDR)
    http = compose_commands()["web1"]
    assert "--forwarded-allow-ips" not in http


def test_compose_serves_http_on_gunicorn_and_websockets_on_the_images_uvicorn() -> None:
    commands = compose_commands()
    web = {name: c for name, c in commands.items() if re.fullmatch(r"web\d+", name)}
    ws = {name: c for name, c in commands.items() if re.fullmatch(r"ws\d+", name)}
    assert web, "no webN service"
    assert ws, "no wsN service"
    for command in web.values():
        assert command[:2] == ["gunicorn", "tradehive.wsgi:application"], command
        assert command[command.index("--bind") + 1] == "0.0.0.0:8000"
    for command in ws.values():
        assert command == dockerfile_command()
        assert command[:4] == ["python", "-m", "uvicorn", "tradehive.asgi:application"]


# --- nginx in front of the app --------------------------------------------------------------------


@dataclass(frozen=True)
class Stack(Proxy):
    """The proxy's ports plus the web processes' behind it: HTTP and websockets."""

    app_port: int
    ws_port: int


@pytest.fixture(scope="module")
def app_server(django_db_setup, tmp_path_factory) -> Iterator[Stack]:
    """The web tier with the production settings on the test database, as compose runs it:
    gunicorn (compose's ``web1`` command) for HTTP and uvicorn (the Dockerfile's command, compose's
    ``ws1``) for websockets."""
    stack = Stack(
        app_port=free_port(), ws_port=free_port(), http_port=free_port(), https_port=free_port()
    )
    env = process_env(
        DJANGO_SETTINGS_MODULE="tradehive.settings.prod",
        SECRET_KEY=secrets.token_urlsafe(50),
        API_KEY_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="localhost",
        CSRF_TRUSTED_ORIGINS=stack.https,
        SERVE_STATIC="0",
        TRUSTED_PROXIES="127.0.0.1",
    )  # nginx reaches the app from 127.0.0.1 here
    commands = compose_commands()
    servers = [
        # S603: our own interpreter running the deployment files' own commands.
        subprocess.Popen(  # noqa: S603
            on_loopback(commands[service], port),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for service, port in (("web1", stack.app_port), ("ws1", stack.ws_port))
    ]
    try:
        wait_for_port(stack.app_port, timeout=30)
        wait_for_port(stack.ws_port, timeout=30)
        yield stack
    finally:
        for server in servers:
            output = stop(server)
            if "Traceback" in output:
                print(output[-4000:])  # noqa: T201 - shown by pytest only when a test fails


@pytest.fixture
def proxy(app_server: Stack, tmp_path: Path) -> Iterator[Stack]:
    """A fresh nginx with the rendered config in front of ``app_server`` (both HTTP upstream
    servers of the file point at its gunicorn, the websocket one at its uvicorn)."""
    with nginx_proxy(
        app_ports=[app_server.app_port, app_server.app_port],
        ws_ports=[app_server.ws_port],
        http_port=app_server.http_port,
        https_port=app_server.https_port,
        directory=tmp_path,
    ):
        yield app_server


def tls_client(stack: Stack) -> httpx.Client:
    # The certificate is the test's own self-signed one.
    return httpx.Client(base_url=stack.https, verify=False, timeout=10)  # noqa: S501


def outside_client(base_url: str) -> httpx.Client:
    """A client connecting from ``OUTSIDE_CLIENT``, not from the proxy's address."""
    # verify=False: the certificate is the test's own self-signed one.
    transport = httpx.HTTPTransport(local_address=OUTSIDE_CLIENT, verify=False)
    return httpx.Client(base_url=base_url, transport=transport, timeout=10)


def _failed_login_address(client: httpx.Client, username: str) -> str | None:
    """Fail one sign-in claiming to come from 6.6.6.6; the address the audit log recorded."""
    answer = client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": "x"},
        headers={"X-Forwarded-For": "6.6.6.6"},
    )
    assert answer.status_code == 401, answer.text
    return AuditEvent.objects.get(event="login.failed", details__username=username).ip


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_plain_http_redirects_to_https_except_the_health_check(proxy: Stack) -> None:
    # when
    page = httpx.get(f"{proxy.http}/trade/LPJ-KRW?x=1", follow_redirects=False, timeout=10)
    health = httpx.get(f"{proxy.http}/healthz", timeout=10)
    # then
    assert page.status_code == 308
    assert page.headers["location"] == "https://localhost/trade/LPJ-KRW?x=1"
    assert health.status_code == 200
    assert health.json()["db"] == "ok"
    # and plain HTTP names no nginx version either (server_tokens off at http level)
    for answer in (page, health):
        assert answer.headers["server"] == "nginx"
    assert "nginx/" not in page.text


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_https_serves_pages_api_and_static_files_with_security_headers(proxy: Stack) -> None:
    with tls_client(proxy) as client:
        # when
        health = client.get("/healthz")
        markets = client.get("/api/v1/markets")
        css = client.get("/static/css/site.css")
        missing = client.get("/api/v1/no-such-thing")
        home = client.get("/")
        icon = client.get("/favicon.ico")
    # then
    assert health.status_code == 200
    assert markets.status_code == 200
    assert isinstance(markets.json(), list)
    assert (css.status_code, css.headers["content-type"]) == (200, "text/css")
    assert "max-age=604800" in css.headers["cache-control"]
    assert missing.status_code == 404
    for answer in (health, markets, missing):
        assert answer.http_version == "HTTP/1.1" or answer.http_version == "HTTP/2"
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["server"] == "nginx"  # server_tokens off: no version
    # and pages and the API carry the app's Content-Security-Policy, once
    for answer in (home, markets, health):
        assert answer.headers.get_list("content-security-policy") == [
            answer.headers["content-security-policy"]
        ]
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert home.status_code == 200
    assert (icon.status_code, icon.headers["content-type"]) == (200, "image/x-icon")
    assert icon.content == (ROOT / "static" / "favicon.ico").read_bytes()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_an_api_client_registers_signs_in_and_trades_over_tls(proxy: Stack, lpj_krw) -> None:
    with tls_client(proxy) as client:
        # given a new account, signed in over the API
        registered = client.post(
            "/api/v1/auth/register",
            json={
                "username": "tls_trader",
                "email": "tls@example.com",
                "password": "a long enough passphrase 42",
            },
        )
        assert registered.status_code == 201, registered.text
        tokens = client.post(
            "/api/v1/auth/token",
            json={"username": "tls_trader", "password": "a long enough passphrase 42"},
        )
        assert tokens.status_code == 200, tokens.text
        bearer = {"Authorization": f"Bearer {tokens.json()['access']}"}
        # when it reads its profile and places an order it cannot pay for
        me = client.get("/api/v1/auth/me", headers=bearer)
        order = client.post(
            "/api/v1/orders",
            headers=bearer,
            json={
                "symbol": "LPJ-KRW",
                "side": "buy",
                "type": "limit",
                "quantity": "1",
                "price": "1000",
            },
        )
    # then the API answered through the proxy, errors in the envelope
    assert me.json()["username"] == "tls_trader"
    assert order.status_code == 400
    assert order.json()["error"]["code"] == "insufficient_funds"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_browser_login_form_works_over_tls_with_secure_cookies(proxy: Stack) -> None:
    # given a user (registered through the app: the suite's own password hasher is a fast test
    # one that the production settings do not accept)
    with tls_client(proxy) as client:
        registered = client.post(
            "/api/v1/auth/register",
            json={
                "username": "tls_browser",
                "email": "tls_browser@example.com",
                "password": "a long enough passphrase 42",
            },
        )
        assert registered.status_code == 201, registered.text
        # when the login page is fetched and its form posted back (as a browser would)
        page = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        answer = client.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": "tls_browser",
                "password": "a long enough passphrase 42",
            },
            headers={"Referer": f"{proxy.https}/accounts/login/"},
        )
        profile = client.get("/accounts/profile/")
    # then the CSRF check passed behind the proxy and the session works; cookies are Secure
    assert answer.status_code == 302, re.findall(r"(?s)<main.*?</main>", answer.text)[:1]
    assert profile.status_code == 200
    assert "tls_browser" in profile.text
    cookies = page.headers.get_list("set-cookie") + answer.headers.get_list("set-cookie")
    assert cookies
    assert all("; Secure" in cookie for cookie in cookies), cookies


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_websockets_upgrade_through_nginx(proxy: Stack, lpj_krw) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate

    async def scenario() -> list[dict]:
        async with websockets.connect(f"wss://localhost:{proxy.https_port}/ws/", ssl=context) as ws:
            await ws.send(json.dumps({"op": "ping"}))
            pong = json.loads(await asyncio.wait_for(ws.recv(), 5))
            await ws.send(json.dumps({"op": "subscribe", "channels": ["ticker:LPJ-KRW"]}))
            subscribed = json.loads(await asyncio.wait_for(ws.recv(), 5))
            return [pong, subscribed]

    # when
    pong, subscribed = asyncio.run(scenario())
    # then
    assert pong["op"] == "pong"
    assert subscribed["op"] == "subscribed"
    assert subscribed["channels"] == ["ticker:LPJ-KRW"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_credential_endpoints_are_rate_limited_with_the_api_envelope(proxy: Stack) -> None:
    # when one address sends 15 registrations at once (5/min, burst 10)
    with tls_client(proxy) as client:
        answers = [client.post("/api/v1/auth/register", json={}) for _ in range(15)]
    # then the first 11 reach the app (400: empty body), the rest get nginx's 429 envelope
    statuses = [answer.status_code for answer in answers]
    assert statuses == [400] * 11 + [429] * 4, statuses
    limited = answers[-1]
    assert limited.headers["retry-after"] == "1"
    assert limited.headers["content-type"].startswith("application/json")
    assert limited.json()["error"]["code"] == "rate_limited"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_metrics_are_not_public_through_nginx(proxy: Stack) -> None:
    with tls_client(proxy) as client:
        assert client.get("/metrics").status_code == 404


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_oversized_request_bodies_are_refused_before_the_app(proxy: Stack) -> None:
    with tls_client(proxy) as client:
        answer = client.post(
            "/api/v1/orders", content=b"x" * 100_000, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 413


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_forged_forwarded_for_sent_straight_to_the_app_is_not_believed(app_server: Stack) -> None:
    # when a client reaches the app server directly, claiming another address
    with outside_client(f"http://localhost:{app_server.app_port}") as client:
        recorded = _failed_login_address(client, "direct_forger")
    # then neither uvicorn nor the app took the header: the audit log has the real peer
    assert recorded == OUTSIDE_CLIENT


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_through_nginx_the_client_address_is_the_one_nginx_saw(proxy: Stack) -> None:
    # when a client behind the trusted nginx forges X-Forwarded-For
    with outside_client(proxy.https) as client:
        recorded = _failed_login_address(client, "proxied_forger")
    # then the right-most address not a trusted proxy (the peer nginx saw) is recorded
    assert recorded == OUTSIDE_CLIENT
