"""The cyclic garbage collector of the long-running processes (web, websockets, settlement).

A request or a settled batch allocates thousands of short-lived objects, so the collector runs
often, and each of its oldest-generation passes walked every long-lived object of the process:
Django, the apps' modules, models, views and serializers, about 140,000 objects in a web
process. Measured there, one such pass took 64 ms, and it fell on whichever request was
running: the ~80 ms outlier of an otherwise 8 ms order placement in ``bench/latency.py``.
``gc.freeze()`` after start-up moves what exists then out of the collector's sight (3,600
objects left to walk after a web process's first requests; the pass 0.4 ms), and a larger
first threshold runs it less often. Cycles made later are still collected."""

from __future__ import annotations

import gc


def gc_tune() -> None:
    """Freeze everything alive now and raise the collection thresholds. Call once, when the
    process has imported what it will use (settlement: its loop; a web process: the URLconf)."""
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)


def web_process_gc_tune() -> None:
    """``gc_tune`` for a web process, after importing the URLconf (every view, serializer and
    form), which Django would otherwise import during the first request, after the freeze."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the import is the point
    gc_tune()
