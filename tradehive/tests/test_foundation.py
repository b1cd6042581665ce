"""The project's ground: health, the error envelope, schema/docs, migrations in sync."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_migrations_match_the_models() -> None:
    # given the models as they are in the tree
    # when makemigrations is asked what it would write
    out = StringIO()
    # then nothing: every model change has its migration (exits non-zero otherwise)
    call_command("makemigrations", "--check", "--dry-run", stdout=out)


def test_healthz_reports_db_and_redis_ok(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["db"] == "ok"
    assert body["redis"] == "ok"
    assert "engine_lag_ms" in body
    assert "feed_age_ms" in body


def test_healthz_names_redis_when_it_is_down(client) -> None:
    # given a Redis that refuses connections
    import redis

    with mock.patch("tradehive.health.get_redis") as get_redis:
        get_redis.return_value.ping.side_effect = redis.ConnectionError("refused")
        # when health is asked
        response = client.get("/healthz")
    # then 503 naming redis, db still ok
    assert response.status_code == 503
    assert response.json()["down"] == ["redis"]
    assert response.json()["db"] == "ok"


def test_unknown_api_path_gets_the_error_envelope(client) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not found.", "fields": {}}
    }


def test_unknown_web_path_gets_an_html_page(client) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_openapi_schema_and_swagger_ui_are_served(client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "TradeHive API"
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("headers", "accepted"),
    [
        ([], True),  # a bot: no Origin, authenticates with a JWT later
        ([(b"origin", b"http://127.0.0.1:8000")], True),  # our own pages
        ([(b"origin", b"https://evil.example")], False),  # someone else's page
    ],
)
def test_websocket_origins(headers: list[tuple[bytes, bytes]], accepted: bool) -> None:
    from asgiref.sync import async_to_sync
    from channels.testing import WebsocketCommunicator

    from tradehive.asgi import application

    async def attempt() -> bool:
        communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(attempt)() is accepted


def test_every_tests_folder_is_collected(request: pytest.FixtureRequest) -> None:
    # given every folder named tests in the project (outside the virtualenv)
    root = Path(request.config.rootpath)
    folders = {
        path.relative_to(root).parts[0]
        for path in root.glob("*/tests")
        if not path.parts[-2].startswith(".")
    }
    # when pytest's testpaths are read
    collected = set(request.config.getini("testpaths"))
    # then each app's tests are among them, so `make test` and CI run every app's tests
    assert folders <= collected, f"not collected: {sorted(folders - collected)}"
