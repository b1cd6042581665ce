"""Errors of price feeds (a market's stale price is ``markets.errors.StalePrice``)."""

from __future__ import annotations


class SourceUnavailable(RuntimeError):
    """A price source failed after its retries (the poll of that source records it and ends)."""
