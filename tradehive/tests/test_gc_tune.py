"""The collector tuning of the long-running processes (``tradehive.gc_tune``)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref
from collections.abc import Iterator

import pytest

from tradehive.gc_tune import gc_tune
from tradehive.testing.processes import ROOT


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
    # given the processes' collector tuning
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


@pytest.mark.parametrize("entry", ["tradehive.wsgi", "tradehive.asgi"])
def test_a_web_process_starts_with_its_modules_out_of_the_collectors_sight(entry: str) -> None:
    # when a web server imports its entry point, as gunicorn and uvicorn do
    probe = (
        f"import gc, json, {entry}\n"
        "print(json.dumps([gc.get_freeze_count(), len(gc.get_objects()), gc.get_threshold()]))"
    )
    out = subprocess.run(  # noqa: S603 - this interpreter, a literal probe
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    frozen, tracked, threshold = json.loads(out.stdout.strip().splitlines()[-1])
    # then Django, the apps and the URLconf's views are frozen: a full collection walks none
    assert frozen > 50_000
    assert tracked < 1_000
    assert threshold == [10_000, 20, 100]
