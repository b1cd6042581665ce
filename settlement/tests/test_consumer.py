"""The settle process's own set-up."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from settlement.consumer import gc_tune


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.mark.usefixtures("restore_gc")
def test_tuned_collector_still_collects_cycles() -> None:
    # given the settle process's collector tuning
    gc_tune()
    # when a reference cycle becomes garbage
    a, b = Node(), Node()
    a.other, b.other = b, a
    alive = weakref.ref(a)
    del a, b
    gc.collect()
    # then it is collected: only the start-up objects were frozen, collection still runs
    assert gc.isenabled()
    assert alive() is None
    assert gc.get_threshold()[0] == 10_000
