"""A request that cannot get a database connection in time (the pool exhausted under load) is
told to retry (503 + Retry-After), not given a 500; a real bug still is a 500."""

from __future__ import annotations

import json

from django.db import OperationalError
from django.test import RequestFactory
from psycopg_pool import PoolTimeout

from tradehive.exceptions import handler500


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


def test_any_other_error_is_still_a_500() -> None:
    api = answer_while_handling(ValueError("a bug"), "/api/v1/orders")
    assert api.status_code == 500
    assert json.loads(api.content)["error"]["code"] == "server_error"
