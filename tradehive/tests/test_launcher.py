"""``make run``'s process table (tradehive.launcher)."""

from __future__ import annotations

from tradehive.launcher import process_table


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
        ["settle", "--shard", "0/3"], ["settle", "--shard", "1/3"], ["settle", "--shard", "2/3"]]


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
