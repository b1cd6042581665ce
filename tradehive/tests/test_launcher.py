"""``make run``'s process table (tradehive.launcher)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from tradehive.embedded_redis import free_port
from tradehive.launcher import ROOT, process_table, stop_groups
from tradehive.testing.processes import process_env


def test_the_demo_bots_run_by_default(monkeypatch) -> None:
    # given no DEMO setting
    monkeypatch.delenv("DEMO", raising=False)
    # when the launcher builds its process table
    table = process_table(8000)
    # then the simulator is one of the children
    assert table["demo"][-2:] == ["manage.py", "simulate_market"]


def test_demo_0_leaves_the_bots_out(monkeypatch) -> None:
    # given DEMO=0
    monkeypatch.setenv("DEMO", "0")
    # when the launcher builds its process table
    table = process_table(8000)
    # then no simulator runs, and the rest of the exchange still does
    assert "demo" not in table
    assert not any("simulate_market" in command for command in table.values())
    assert {"web", "worker", "beat", "settle-0", "settle-1"} <= set(table)


def test_settlement_runs_one_process_per_shard(monkeypatch) -> None:
    # given three settlement processes asked for
    monkeypatch.setenv("SETTLE_PROCESSES", "3")
    # when the launcher builds its process table
    table = process_table(8000)
    # then each settles its own share of the markets, and together they cover them all
    settles = [command for name, command in table.items() if name.startswith("settle")]
    assert [command[-3:] for command in settles] == [
        ["settle", "--shard", "0/3"],
        ["settle", "--shard", "1/3"],
        ["settle", "--shard", "2/3"],
    ]


def test_one_settlement_process_takes_every_market(monkeypatch) -> None:
    # given SETTLE_PROCESSES=1
    monkeypatch.setenv("SETTLE_PROCESSES", "1")
    # when the launcher builds its process table
    table = process_table(8000)
    # then the single process has no shard
    assert table["settle"][-2:] == ["manage.py", "settle"]


def test_beat_keeps_its_schedule_in_the_var_dir(monkeypatch, tmp_path) -> None:
    # given a var directory of one's own
    monkeypatch.setenv("TRADEHIVE_VAR_DIR", str(tmp_path))
    # when the launcher builds its process table
    table = process_table(8000)
    # then celery beat's schedule file lives there, not in the checkout's var/
    assert table["beat"][-1] == str(tmp_path / "celerybeat-schedule")


def test_the_web_server_does_not_rewrite_the_client_address_from_headers() -> None:
    # given make run's web process
    web = process_table(8000)["web"]
    # then uvicorn keeps the peer; only tradehive.client_ip reads X-Forwarded-For
    assert "--no-proxy-headers" in web
    assert "--forwarded-allow-ips" not in web


def test_processes_stop_in_order_and_the_ones_not_listed_last() -> None:
    # given the process names of a launch with two settlement shards and an unknown extra
    names = [
        "worker",
        "feeds",
        "feeds-match",
        "beat",
        "settle-0",
        "settle-1",
        "demo",
        "web",
        "extra",
    ]
    # when the launcher orders them for stopping
    groups = stop_groups(names)
    # then requests and bots stop first, the scheduler before the workers, settlement after them
    assert groups == [
        ["web"],
        ["demo"],
        ["beat"],
        ["worker"],
        ["feeds", "feeds-match"],
        ["settle-0", "settle-1"],
        ["extra"],
    ]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_make_run_starts_quietly_says_where_it_is_and_stops_with_exit_code_0(
    how: str, tmp_path
) -> None:
    # given make run (the launcher with its bundled Redis: no REDIS_URL) on the test database,
    # with the demo admin's password in a file of one's own
    port = free_port()
    password_file = tmp_path / "admin-password"
    password_file.write_text("demo-Admin-pw-42\n")
    env = process_env(
        PORT=str(port),
        DJANGO_SETTINGS_MODULE="tradehive.settings.dev",
        DEBUG="0",
        SETTLE_PROCESSES="1",
        TRADEHIVE_VAR_DIR=str(tmp_path),
        DEMO_ADMIN_PASSWORD_FILE=str(password_file),
    )
    del env["REDIS_URL"]
    env.pop("LOG_LEVEL", None)
    # S603: our own interpreter running the launcher; its own session so a Ctrl-C can be sent to
    # its whole process group as a terminal would.
    launcher = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tradehive.launcher"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(
            line.decode(errors="replace")
            for line in iter(launcher.stdout.readline, b"")  # type: ignore[union-attr]
        ),
        daemon=True,
    )
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("TradeHive is running" in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines)[-4000:]
            assert launcher.poll() is None, "".join(lines)[-4000:]
            time.sleep(0.2)
        # once the banner is out the site answers
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            assert answer.status == 200
        time.sleep(4)  # workers, beat, settlement and the bots get going

        # when it is stopped: Ctrl-C reaches the terminal's whole foreground process group,
        # a service manager sends SIGTERM to the launcher
        if how == "ctrl-c":
            os.killpg(launcher.pid, signal.SIGINT)
        else:
            launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=90)
        reader.join(timeout=10)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
    text = "".join(lines)

    # then it exits 0 having stopped everything, without a traceback or a critical line
    assert launcher.returncode == 0, text[-4000:]
    assert "TradeHive stopped." in text
    for noise in ("Traceback", "CRITICAL", "Couldn't ack", "hub receive failed", "ERROR"):
        assert noise not in text, text[-6000:]
    # and it said once, in one block, where the site is, how to sign in and how to stop
    assert text.count("TradeHive is running") == 1, text
    block = text[text.index("TradeHive is running") :].split("=" * 64)[0]
    assert f"Exchange:    http://127.0.0.1:{port}/" in block
    assert f"Admin:       http://127.0.0.1:{port}/admin/" in block
    assert "username admin   password demo-Admin-pw-42" in block
    assert "Ctrl-C" in block
    # and start-up said nothing alarming or repeated: no rebuild warnings for empty books, no
    # Celery banners or root warnings per worker, no seed chatter (the logins are in the block
    # only)
    for chatter in ("rebuilt from", "WARNING", "Warning", "celery@", "[config]", "[queues]"):
        assert chatter not in text, text[-6000:]
    assert text.count("demo-Admin-pw-42") == 1, text
