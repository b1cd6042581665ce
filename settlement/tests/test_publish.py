"""After a batch commits: its push, then its follow-ups (``settled_publish_many``), on the settle
process's publisher thread (``BackgroundPublisher``)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from markets.models import TradingPair
from settlement import publish
from settlement.consumer import BackgroundPublisher
from settlement.publish import SettledBatch, settled_publish_many


def batch(sequence: int, log: list[str]) -> SettledBatch:
    """A batch of LPJ-KRW whose follow-ups note themselves in ``log``: copy trading's dispatch
    (no key) and the market's ticker refresh (keyed by market)."""
    return SettledBatch(
        pair=TradingPair(symbol="LPJ-KRW"),
        orders=[],
        fills=[],
        trades=[],
        sequence=sequence,
        follow_ups=[
            (None, lambda: log.append(f"copy {sequence}")),
            ("ticker:LPJ-KRW", lambda: log.append(f"ticker {sequence}")),
        ],
    )


@pytest.fixture
def pushes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The pushes, noted in the same log as the follow-ups (the push itself is covered by the
    trade-loop tests); a batch with sequence 0 fails to push."""
    log: list[str] = []

    def push(*, batch: SettledBatch, run: Any = None) -> None:
        if batch.sequence == 0:
            raise RuntimeError("the channel layer is down")
        log.append(f"push {batch.sequence}")

    monkeypatch.setattr(publish, "publish_settled", push)
    return log


def test_each_push_is_followed_by_its_own_work_and_a_round_refreshes_a_ticker_once(
    pushes: list[str],
) -> None:
    # when two batches of one market are published in one round
    settled_publish_many(batches=[batch(1, pushes), batch(2, pushes)])
    # then each push comes first, each dispatch right after its push, the ticker once, last
    assert pushes == ["push 1", "copy 1", "push 2", "copy 2", "ticker 2"]


def test_a_failed_push_stops_neither_its_follow_ups_nor_the_next_batch(
    pushes: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    settled_publish_many(batches=[batch(0, pushes), batch(3, pushes)])
    assert pushes == ["copy 0", "push 3", "copy 3", "ticker 3"]
    assert "publishing settled batch 0 of LPJ-KRW failed" in caplog.text


def test_the_publisher_thread_takes_every_waiting_batch_in_one_round(
    pushes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a publisher whose first push waits until two more batches are queued
    started, release = threading.Event(), threading.Event()
    pushing = publish.publish_settled

    def slow_first(*, batch: SettledBatch, run: Any = None) -> None:
        if batch.sequence == 1:
            started.set()
            release.wait(5)
        pushing(batch=batch, run=run)

    monkeypatch.setattr(publish, "publish_settled", slow_first)
    publisher = BackgroundPublisher()
    publisher(batch(1, pushes))
    assert started.wait(5)
    publisher(batch(2, pushes))
    publisher(batch(3, pushes))
    release.set()
    publisher.close()
    # then the two waiting batches went in one round: pushed in order, the ticker once for both
    assert pushes == [
        "push 1",
        "copy 1",
        "ticker 1",
        "push 2",
        "copy 2",
        "push 3",
        "copy 3",
        "ticker 3",
    ]


def test_handing_a_batch_over_returns_once_it_is_pushed_not_after_its_follow_ups(
    pushes: list[str],
) -> None:
    # given a batch whose copy-trading follow-up is still running
    following, release = threading.Event(), threading.Event()
    slow = batch(1, pushes)

    def copy() -> None:
        following.set()
        release.wait(5)

    slow.follow_ups.insert(0, (None, copy))
    publisher = BackgroundPublisher()
    try:
        # when settlement hands it over
        publisher(slow)
        # then its push has been sent by the time the hand-over returns
        assert pushes == ["push 1"]
        assert following.wait(5)
    finally:
        release.set()
        publisher.close()
    assert pushes == ["push 1", "copy 1", "ticker 1"]


def test_a_push_that_hangs_holds_settlement_up_for_a_bounded_moment_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a channel layer that does not answer
    release = threading.Event()
    pushed: list[int] = []

    def hangs(*, batch: SettledBatch, run: Any = None) -> None:
        release.wait(5)
        pushed.append(batch.sequence)

    monkeypatch.setattr(publish, "publish_settled", hangs)
    monkeypatch.setattr(BackgroundPublisher, "PUSH_WAIT_S", 0.01)
    publisher = BackgroundPublisher()
    try:
        # when settlement hands three batches over
        for sequence in (1, 2, 3):
            publisher(batch(sequence, []))
        # then every hand-over returned while the first push still hangs
        assert pushed == []
    finally:
        release.set()
        publisher.close()
    # and the pushes went out, in order, once the layer answered
    assert pushed == [1, 2, 3]
