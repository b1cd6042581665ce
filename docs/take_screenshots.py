"""Take the README's screenshots of a running demo exchange: ``python docs/take_screenshots.py``.

It starts the exchange as ``make run`` does (``tradehive.launcher``: migrations, demo data, the
web server, settlement, Celery with the price feeds and the demo bots) on a database and Redis of
its own (the embedded PostgreSQL in a temporary var directory and the bundled Redis, unless
``DATABASE_URL`` / ``REDIS_URL`` are set: then those, which it writes demo data into). Before the
start it records three hours of made-up LPJ-KRW trades ending at the bots' start price (a fresh
exchange has no history to chart), and once the exchange answers it signs a demo trader up with
deposits who buys LPJ from the bots and BTC and ETH from the house and rests a bid, so the
pictures show what a trader sees. Then headless Debian Chromium (``CHROMIUM_PATH``, default
``/usr/bin/chromium``), driven by Playwright, saves:

- ``docs/screenshots/trade.png``: the LPJ-KRW trade page at 1440x900 (the whole page), with
  SMA 20 and Bollinger bands on;
- ``docs/screenshots/portfolio.png``: the demo trader's portfolio at 1440x900;
- ``docs/screenshots/phone.png``: the LPJ-KRW trade page at 390x844 (one screen).

Everything it started stops when it is done."""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
TRADER = "demo_trader"
TRADER_PASSWORD = "screenshot demo passphrase 7"  # noqa: S105 - a throwaway demo account
START_TIMEOUT_S = 180
D = Decimal


def history_backfill() -> None:
    """Three hours of LPJ-KRW trades, one every 30 s, walking back from 1,000 KRW (the bots'
    start price) so the chart has candles and the live trades continue it. Negative sequences:
    older than every trade the engine will number. Skipped when LPJ-KRW already has trades."""
    from django.db import transaction
    from django.utils import timezone

    from markets.models import Trade, TradingPair
    from markets.services import TradeInput, trades_record

    pair = TradingPair.objects.get(symbol="LPJ-KRW")
    if Trade.objects.filter(pair=pair).exists():
        return
    rng = random.Random(19)  # noqa: S311 - made-up prices for a picture
    now = timezone.now()
    count = 360
    prices = [1000.0]
    for _ in range(count - 1):
        prices.append(min(1150.0, max(850.0, prices[-1] * math.exp(rng.gauss(0, 0.004)))))
    prices.reverse()  # the walk ends at 1,000
    trades = [
        TradeInput(
            sequence=n - count,
            created_at=now - timedelta(seconds=(count - n) * 30 + 30),
            price=D(round(price)),
            quantity=D(rng.randint(2, 40)),
            taker_side=rng.choice(["buy", "sell"]),
        )
        for n, price in enumerate(prices)
    ]
    with transaction.atomic():
        trades_record(pair=pair, trades=trades)


def trader_prepare() -> None:
    """The demo trader: deposits, a market buy of LPJ (from the bots' asks), market buys of BTC
    and ETH (from the house, at the feed price) and a resting LPJ bid below the market."""
    from accounts.models import User
    from accounts.services import user_create
    from orders.selectors import last_trade_price
    from orders.services import order_place
    from wallets.deposits import deposit_create

    if User.objects.filter(username=TRADER).exists():
        return
    user = user_create(username=TRADER, email=f"{TRADER}@tradehive.local", password=TRADER_PASSWORD)
    for symbol, amount in (("KRW", "30000000"), ("USDT", "2500"), ("XRP", "1500")):
        deposit_create(user=user, asset_symbol=symbol, amount=D(amount))
    order_place(user=user, symbol="LPJ-KRW", side="buy", type="market", quantity=D(40))
    order_place(user=user, symbol="BTC-KRW", side="buy", type="market", quote_amount=D(9_000_000))
    order_place(user=user, symbol="ETH-KRW", side="buy", type="market", quote_amount=D(4_000_000))
    from markets.models import TradingPair

    lpj = TradingPair.objects.get(symbol="LPJ-KRW")
    last = last_trade_price(pair=lpj) or D(1000)
    order_place(
        user=user,
        symbol="LPJ-KRW",
        side="buy",
        type="limit",
        quantity=D(25),
        price=(last * D("0.95") / lpj.tick_size).to_integral_value() * lpj.tick_size,
    )


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)


def shoot(base: str) -> None:
    from playwright.sync_api import Page, sync_playwright

    def log_in(page: Page, next_path: str) -> None:
        page.goto(f"{base}/accounts/login/?next={next_path}")
        page.get_by_label("Username").fill(TRADER)
        page.get_by_label("Password").fill(TRADER_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}{next_path}")

    def trade_page_ready(page: Page) -> None:
        page.wait_for_selector("[data-trade][data-ready='1']")
        page.wait_for_selector("body[data-live='live']", timeout=20_000)
        page.wait_for_selector("[data-chart] canvas")
        page.wait_for_selector("[data-asks] .level:not([hidden])")
        page.wait_for_selector("[data-trades] tr:not(.empty)")
        time.sleep(2)  # a few live updates land, the chart settles

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        desktop = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
        page = desktop.new_page()
        log_in(page, "/markets/LPJ-KRW/")
        trade_page_ready(page)
        # The indicators a trader would turn on: SMA 20 and Bollinger bands over the candles.
        page.get_by_label("SMA 20").check()
        page.get_by_label("Bollinger 20, 2").check()
        page.wait_for_load_state("networkidle")
        time.sleep(1)
        page.screenshot(path=str(OUT / "trade.png"), full_page=True)

        page.goto(f"{base}/portfolio/")
        page.wait_for_load_state("networkidle")
        time.sleep(1)
        page.screenshot(path=str(OUT / "portfolio.png"), full_page=True)

        phone = browser.new_context(
            viewport=PHONE,  # type: ignore[arg-type]
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        page = phone.new_page()
        log_in(page, "/markets/LPJ-KRW/")
        trade_page_ready(page)
        page.screenshot(path=str(OUT / "phone.png"))
        browser.close()


def main() -> int:
    var_dir = Path(tempfile.mkdtemp(prefix="tradehive-screenshots-"))
    os.environ.update(
        {
            "TRADEHIVE_VAR_DIR": str(var_dir),
            "DJANGO_SETTINGS_MODULE": "tradehive.settings.dev",
            "DEBUG": "0",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        }
    )
    from tradehive.embedded_postgres import ensure_database_url
    from tradehive.embedded_redis import ensure_redis_url, free_port

    ensure_redis_url()
    ensure_database_url()
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    call_command("seed_demo", verbosity=0)
    history_backfill()

    # S603: our own interpreter running the launcher, as `make run` does.
    launcher = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tradehive.launcher"],
        cwd=ROOT,
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output: list[str] = []

    def read() -> None:
        assert launcher.stdout is not None
        for line in iter(launcher.stdout.readline, b""):
            output.append(line.decode(errors="replace"))

    threading.Thread(target=read, daemon=True).start()
    try:
        wait_for(
            lambda: any("TradeHive is running" in line for line in output)
            or launcher.poll() is not None,
            timeout=START_TIMEOUT_S,
            what="the exchange to start",
        )
        if launcher.poll() is not None:
            print("".join(output))
            return 1
        print(f"the exchange answers at {base}; waiting for prices and the bots' quotes")
        from feeds.selectors import feed_price_fresh
        from markets.errors import StalePrice
        from markets.models import TradingPair

        def feeds_fresh() -> bool:
            try:
                for symbol in ("BTC-KRW", "ETH-KRW"):
                    feed_price_fresh(pair=TradingPair.objects.get(symbol=symbol))
            except StalePrice:
                return False
            return True

        wait_for(feeds_fresh, timeout=60, what="fresh feed prices")
        time.sleep(8)  # the bots quote both sides of LPJ-KRW
        trader_prepare()
        time.sleep(5)  # settlement applies the trader's fills; the bots trade a little more
        shoot(base)
    finally:
        if launcher.poll() is None:
            launcher.send_signal(signal.SIGTERM)
            try:
                launcher.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(launcher.pid, signal.SIGKILL)
                launcher.wait()
    for name in ("trade", "portfolio", "phone"):
        print(f"saved {OUT / name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
