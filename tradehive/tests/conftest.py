"""Fixtures of the project-level tests: the trade-loop fixtures of ``orders``."""

from orders.tests.conftest import engine_redis, lpj_krw, make_user, settle  # noqa: F401
