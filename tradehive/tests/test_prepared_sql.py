"""prepared_cursor: statements are prepared once per connection, Django's wrapper is kept."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from tradehive.sql import prepared_cursor

pytestmark = pytest.mark.django_db


def _prepared(statement: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement = %s", [statement]
        )
        return cursor.fetchone()[0]


def test_a_statement_is_prepared_once_and_reused() -> None:
    # given
    statement = "SELECT %s::int + 1"
    server_text = "SELECT $1::int + 1"
    # when it runs three times with other values
    answers = []
    for value in (1, 2, 3):
        with prepared_cursor() as cursor:
            cursor.execute(statement, [value])
            answers.append(cursor.fetchone()[0])
    # then the server holds one prepared statement for it
    assert answers == [2, 3, 4]
    assert _prepared(server_text) == 1


def test_queries_are_logged_like_any_other(django_assert_num_queries) -> None:
    # given a statement already prepared
    with prepared_cursor() as cursor:
        cursor.execute("SELECT %(a)s::int * %(a)s::int", {"a": 6})
    # when it runs again (as a prepared statement) / then it is counted and its text logged
    with django_assert_num_queries(1) as captured, prepared_cursor() as cursor:
        cursor.execute("SELECT %(a)s::int * %(a)s::int", {"a": 7})
        assert cursor.fetchone() == (49,)
    assert "SELECT $1::int * $1::int" in captured.captured_queries[0]["sql"]


def test_database_errors_are_djangos() -> None:
    with pytest.raises(IntegrityError), transaction.atomic(), prepared_cursor() as cursor:
        cursor.execute("INSERT INTO wallets_asset (symbol) VALUES (%s)", [None])
