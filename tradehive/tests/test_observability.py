"""Metrics (/metrics, multiprocess merge, HTTP/order/task/scrape-time metrics) and logs (JSON
lines with the request id)."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from prometheus_client import REGISTRY

from tradehive.log_format import RequestIdMiddleware, request_id

pytestmark = pytest.mark.django_db


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client: Client, **headers: Any) -> str:
    answer = client.get("/metrics", **headers)
    assert answer.status_code == 200, answer.content
    return answer.content.decode()


def test_metrics_are_served_to_loopback_only_without_a_token(client: Client) -> None:
    client.get("/healthz")
    text = scrape(client)
    assert 'tradehive_http_request_duration_seconds_count{method="GET",route="healthz"' in text
    outside = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert outside.status_code == 403
    proxied = client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert proxied.status_code == 403


@override_settings(METRICS_TOKEN="s3cret-token")
def test_with_a_token_metrics_need_it(client: Client) -> None:
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-token", REMOTE_ADDR="203.0.113.9")


def test_routes_not_paths_label_requests(client: Client) -> None:
    before = sample(
        "tradehive_http_request_duration_seconds_count",
        route="api/v1/markets/<str:symbol>",
        method="GET",
        status="404",
    )
    client.get("/api/v1/markets/NOPE-KRW")
    client.get("/no/such/page/zqxj-unrouted")
    after = sample(
        "tradehive_http_request_duration_seconds_count",
        route="api/v1/markets/<str:symbol>",
        method="GET",
        status="404",
    )
    assert after == before + 1
    # an unrouted path is never a label (a digit string could also appear inside a sample value)
    assert "zqxj-unrouted" not in scrape(client)


WRITER = """
import sys
from prometheus_client import Counter
Counter("tradehive_test_merged", "merged across processes", ["who"]).labels(sys.argv[1]).inc(3)
"""


def test_every_process_is_counted(client: Client, tmp_path: Path, monkeypatch) -> None:
    # given two processes counting into one multiprocess directory
    for who in ("web", "worker"):
        subprocess.run(  # noqa: S603 - our interpreter, our script
            [sys.executable, "-c", WRITER, who],
            env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
            check=True,
        )
    # when /metrics is scraped with that directory
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = scrape(client)
    # then both processes' samples are there
    assert 'tradehive_test_merged_total{who="web"} 3.0' in text
    assert 'tradehive_test_merged_total{who="worker"} 3.0' in text


def test_scrape_time_state_and_the_scheduled_ledger_check(client: Client, redis_client) -> None:
    from wallets.tasks import ledger_check

    runs = sample(
        "tradehive_celery_task_duration_seconds_count",
        task="wallets.tasks.ledger_check",
        state="SUCCESS",
    )
    assert ledger_check.apply().get() == 0
    assert (
        sample(
            "tradehive_celery_task_duration_seconds_count",
            task="wallets.tasks.ledger_check",
            state="SUCCESS",
        )
        == runs + 1
    )
    text = scrape(client)
    assert "tradehive_ledger_check_ok 1.0" in text
    assert "tradehive_ledger_check_problems 0.0" in text
    assert "tradehive_outbox_backlog 0.0" in text
    assert "tradehive_outbox_quarantined 0.0" in text
    assert "tradehive_settlement_lag_ms 0.0" in text
    assert "tradehive_feed_stale" in text


def test_refused_placements_are_counted_by_reason(db) -> None:
    from accounts.services import user_create
    from orders.services import order_place
    from tradehive.errors import DomainError

    user = user_create(username="counted", email="c@example.com", password="a-long-password-1")
    before = sample("tradehive_orders_refused_total", reason="unknown_market")
    with pytest.raises(DomainError):
        order_place(user=user, symbol="NOPE-KRW", side="buy", type="market", quantity=None)
    assert sample("tradehive_orders_refused_total", reason="unknown_market") == before + 1


def test_requests_carry_an_id_into_every_json_log_line() -> None:
    stream = io.StringIO()
    config = json.loads(json.dumps(settings.LOGGING))  # a copy
    config["handlers"]["console"].update(formatter="json", stream=stream)
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request_id())
        logging.getLogger("tradehive.test").warning("order %s placed", 42)
        return HttpResponse("ok")

    try:
        logging.config.dictConfig(config)
        given = RequestIdMiddleware(view)(_request(HTTP_X_REQUEST_ID="lb-1234abcd"))
        made = RequestIdMiddleware(view)(_request(HTTP_X_REQUEST_ID="<script>"))
    finally:
        logging.config.dictConfig(settings.LOGGING)
    assert given["X-Request-ID"] == "lb-1234abcd"
    assert made["X-Request-ID"] == seen[1]
    assert len(seen[1]) == 32
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == seen
    assert lines[0]["message"] == "order 42 placed"
    assert lines[0]["level"] == "WARNING"
    assert request_id() == "-"  # outside a request


def _request(**meta: Any) -> HttpRequest:
    from django.test import RequestFactory

    return RequestFactory().get("/", **meta)


OPS = Path(__file__).resolve().parents[2] / "ops"


def _names(text: str) -> set[str]:
    names = set(re.findall(r"\btradehive_[a-z_]+", text))
    return {re.sub(r"_(bucket|count|sum|total)$", "", name) for name in names}


def test_alert_rules_and_dashboard_use_only_metrics_that_exist(
    client: Client, redis_client
) -> None:
    import yaml

    from wallets.verification import ledger_check_record

    ledger_check_record()
    rules = yaml.safe_load((OPS / "prometheus-alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert all(
        rule.get("annotations", {}).get("runbook") for g in rules["groups"] for rule in g["rules"]
    )
    dashboard = json.loads((OPS / "grafana-dashboard.json").read_text())
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    wanted = set().union(*(_names(expr) for expr in exprs))
    # what a scrape declares (# TYPE lines, even before a labelled metric has samples), plus
    # what scrape-time collectors yield only when they have a value (feed age)
    declared = _names(scrape(client))
    collectors = "".join(p.read_text() for p in Path(settings.BASE_DIR).glob("*/metrics.py"))
    missing = {name for name in wanted if name not in declared and f'"{name}"' not in collectors}
    assert not missing, missing
