"""Prove the README's run command: ``make run`` on embedded defaults trades and stops cleanly.

Starts ``make run`` with no ``DATABASE_URL``/``REDIS_URL`` (so the embedded PostgreSQL and the
bundled Redis) in a fresh ``TRADEHIVE_VAR_DIR`` on a free port, waits until ``/healthz``
reports every part ok, then through the API: registers a seller and a buyer, deposits, rests a
sell and crosses it with a buy, and waits until both orders are filled and the buyer holds the
coin. Then SIGTERM to the launcher, which must exit 0 within 30 s with no traceback in its output.
Exits non-zero, printing the launcher's output, on any failure. Loopback traffic only."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
SYMBOL, BASE, QUOTE = "LPJ-KRW", "LPJ", "KRW"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check, timeout: float = 180.0, interval: float = 0.5):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def trader(api: httpx.Client, name: str) -> dict[str, str]:
    password = secrets.token_urlsafe(16)
    answer = api.post(
        "/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.org", "password": password},
    )
    assert answer.status_code == 201, answer.text
    answer = api.post("/api/v1/auth/token", json={"username": name, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access']}"}


def trade_once(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as api:
        suffix = secrets.token_hex(3)
        seller, buyer = trader(api, f"smoke_seller_{suffix}"), trader(api, f"smoke_buyer_{suffix}")
        for headers, asset, amount in ((seller, BASE, "10"), (buyer, QUOTE, "100000")):
            answer = api.post(
                "/api/v1/wallet/deposits", headers=headers, json={"asset": asset, "amount": amount}
            )
            assert answer.status_code == 201, answer.text
        # a price far above the demo book, so the buy meets this sell and nothing else
        order = {"symbol": SYMBOL, "type": "limit", "price": "5000", "quantity": "1"}
        sell = api.post("/api/v1/orders", headers=seller, json={**order, "side": "sell"})
        assert sell.status_code == 201, sell.text
        buy = api.post("/api/v1/orders", headers=buyer, json={**order, "side": "buy"})
        assert buy.status_code == 201, buy.text

        def filled(headers: dict[str, str], order_id: int) -> bool:
            answer = api.get(f"/api/v1/orders/{order_id}", headers=headers)
            return answer.status_code == 200 and answer.json()["status"] == "filled"

        wait_for("the sell to fill", lambda: filled(seller, sell.json()["id"]), timeout=30)
        wait_for("the buy to fill", lambda: filled(buyer, buy.json()["id"]), timeout=30)
        balances = api.get("/api/v1/wallet/balances", headers=buyer).json()
        held = {row["asset"]: Decimal(row["total"]) for row in balances}
        assert held.get(BASE) == Decimal(1), balances


def main() -> int:
    port = free_port()
    var_dir = tempfile.mkdtemp(prefix="tradehive-smoke-")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CI"}
    }
    env.update({"PORT": str(port), "TRADEHIVE_VAR_DIR": var_dir, "DEMO": "0"})
    launcher = subprocess.Popen(
        ["make", "-s", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    output = b""
    try:

        def healthy() -> bool:
            answer = httpx.get(f"{base_url}/healthz", timeout=2)
            body = answer.json()
            return (
                answer.status_code == 200
                and body.get("db") == "ok"
                and body.get("redis") == "ok"
                and body.get("feed") == "ok"
            )

        wait_for("/healthz to report every part ok", healthy)
        trade_once(base_url)
    except BaseException:
        os.killpg(launcher.pid, signal.SIGTERM)
        output = launcher.communicate(timeout=60)[0]
        print(output.decode(errors="replace"))
        raise
    # SIGTERM to the launcher (make's child), as a service manager stops it: it stops its
    # processes, then the embedded servers, and make exits with its status.
    for child in psutil.Process(launcher.pid).children():
        child.send_signal(signal.SIGTERM)
    try:
        output = launcher.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
        output = launcher.communicate()[0]
        print(output.decode(errors="replace"))
        print("smoke: make run did not stop within 30 s")
        return 1
    text = output.decode(errors="replace")
    if launcher.returncode != 0 or "Traceback" in text:
        print(text)
        print(f"smoke: make run exited {launcher.returncode} or printed a traceback")
        return 1
    print(f"smoke: make run on embedded PostgreSQL and Redis traded and stopped cleanly ({port})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
