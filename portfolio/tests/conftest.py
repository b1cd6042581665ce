"""The trade loop's fixtures (a book market, funded users, settling, the ledger check) serve the
portfolio's tests too."""

from orders.tests.conftest import (  # noqa: F401 - fixtures, used by name
    engine_redis,
    ledger_clean,
    lpj_krw,
    make_user,
    settle,
)
