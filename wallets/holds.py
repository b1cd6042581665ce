"""Registry of open holds, so ``ledger_verify`` can check "locked == sum of open holds", and
that no hold belongs to something that can never release it.

Every app that moves funds into a locked bucket registers one source: a callable returning
``{(account_id, asset_id): Decimal}`` of what it currently holds (pending withdrawals here;
open orders in ``orders``). It may also register a check of holds that can never be released
(``register_stuck_hold_check``): a callable returning ``[(asset_id, detail), ...]``, one per
such hold (``orders``: a closed order still holding funds, a pending order the engine can
never take). Register in ``AppConfig.ready``; registering the same name twice replaces the
earlier callable (so reloads do not double count)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

HoldMap = dict[tuple[int, int], Decimal]
HoldSource = Callable[[], HoldMap]
StuckHoldCheck = Callable[[], list[tuple[int, str]]]

_sources: dict[str, HoldSource] = {}
_stuck_checks: dict[str, StuckHoldCheck] = {}


def register_hold_source(name: str, source: HoldSource) -> None:
    _sources[name] = source


def hold_sources() -> dict[str, HoldSource]:
    return dict(_sources)


def open_holds() -> HoldMap:
    """The sum over all registered sources of what each (account, asset) should have locked."""
    total: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for source in _sources.values():
        for key, amount in source().items():
            total[key] += amount
    return dict(total)


def unregister_hold_source(name: str) -> None:
    _sources.pop(name, None)


def register_stuck_hold_check(name: str, check: StuckHoldCheck) -> None:
    _stuck_checks[name] = check


def stuck_holds() -> list[tuple[int, str]]:
    """Every registered check's holds that can never be released: (asset id, detail)."""
    return [problem for check in _stuck_checks.values() for problem in check()]
