"""A request that cannot get a database connection in time (the pool exhausted under load), or
whose connection the server dropped (a restart, a failover), is told to retry (503 +
Retry-After), not given a 500; a real bug, or a statement the database refused, still is a
500."""

from __future__ import annotations

import json

import psycopg
import pytest
from django.db import OperationalError, connection
from django.test import RequestFactory
from psycopg_pool import PoolTimeout

from tradehive.exceptions import handler500
from tradehive.testing.postgres import direct_connect_kwargs


def answer_while_handling(error: Exception, path: str):  # type: ignore[no-untyped-def]
    request = RequestFactory().get(path)
    try:
        raise error
    except Exception:
        return handler500(request)  # Django calls it inside its except block


def pool_exhausted() -> OperationalError:
    try:
        raise PoolTimeout("couldn't get a connection after 10.00 sec")
    except PoolTimeout as exc:
        wrapped = OperationalError("couldn't get a connection after 10.00 sec")
        wrapped.__cause__ = exc  # as Django's DatabaseErrorWrapper raises it
        return wrapped


def test_an_exhausted_pool_answers_503_to_retry() -> None:
    api = answer_while_handling(pool_exhausted(), "/api/v1/orders")
    assert (api.status_code, api["Retry-After"]) == (503, "1")
    assert json.loads(api.content)["error"]["code"] == "service_unavailable"
    page = answer_while_handling(pool_exhausted(), "/markets/LPJ-KRW/")
    assert (page.status_code, page["Retry-After"]) == (503, "1")


def django_wrapped(exc: psycopg.Error) -> OperationalError:
    wrapped = OperationalError(str(exc))
    wrapped.__cause__ = exc  # as Django's DatabaseErrorWrapper raises it
    return wrapped


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_answers_503_to_retry() -> None:
    # given a real connection that the server ends mid-session (as a restart does)
    dropped = psycopg.connect(**direct_connect_kwargs())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [dropped.info.backend_pid])
    with pytest.raises(psycopg.OperationalError) as lost:
        dropped.execute("SELECT 1")
    dropped.close()
    # then a request that met it is told to retry
    api = answer_while_handling(django_wrapped(lost.value), "/api/v1/orders")
    assert (api.status_code, api["Retry-After"]) == (503, "1")
    assert json.loads(api.content)["error"]["code"] == "service_unavailable"


@pytest.mark.django_db
def test_a_statement_the_database_refused_is_still_a_500() -> None:
    # an OperationalError too (SQLSTATE 57014), but of the statement, not of the server
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 1")
        with pytest.raises(OperationalError) as refused:
            cursor.execute("SELECT pg_sleep(1)")
    assert isinstance(refused.value.__cause__, psycopg.errors.QueryCanceled)
    api = answer_while_handling(refused.value, "/api/v1/orders")
    assert api.status_code == 500


def test_any_other_error_is_still_a_500() -> None:
    api = answer_while_handling(ValueError("a bug"), "/api/v1/orders")
    assert api.status_code == 500
    assert json.loads(api.content)["error"]["code"] == "server_error"


@pytest.mark.django_db(transaction=True)
def test_a_connection_refused_for_too_many_clients_answers_503_to_retry() -> None:
    # given a role whose connection limit is reached (as the server's own max_connections is
    # when more processes connect than it allows: the same refusal at connect time)
    params = direct_connect_kwargs()
    with connection.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS th_test_full")
        cursor.execute("CREATE ROLE th_test_full LOGIN CONNECTION LIMIT 0")
    try:
        with pytest.raises(psycopg.OperationalError) as refused:
            psycopg.connect(**(params | {"user": "th_test_full", "password": ""}))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP ROLE th_test_full")
    assert "too many connections" in str(refused.value)
    # then a request that met it is told to retry
    api = answer_while_handling(django_wrapped(refused.value), "/api/v1/orders")
    assert (api.status_code, api["Retry-After"]) == (503, "1")
    assert json.loads(api.content)["error"]["code"] == "service_unavailable"
