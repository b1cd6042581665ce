"""The settle process's own set-up."""

from __future__ import annotations


def test_an_idle_consumer_wakes_when_an_event_is_appended(redis_client) -> None:
    import threading
    import time

    from engine.keys import events_key
    from settlement.consumer import events_wait

    # given an idle wait of up to 2 s on two markets' streams
    def append_soon() -> None:
        time.sleep(0.1)
        redis_client.xadd(events_key("LPJ-KRW"), {"e": "1"})

    threading.Thread(target=append_soon).start()
    started = time.monotonic()
    # when an event is appended to one of them after 0.1 s
    events_wait(redis_client, ["BTC-KRW", "LPJ-KRW"], 2.0)
    # then the wait ends then, not after the whole 2 s
    assert time.monotonic() - started < 1.0


def test_an_event_appended_before_the_wait_ends_it_at_once(redis_client) -> None:
    import time

    from engine.keys import events_key
    from settlement.consumer import events_wait, stream_id

    # given a consumer that has read LPJ-KRW's stream up to one entry
    key = events_key("LPJ-KRW")
    read = stream_id(redis_client.xadd(key, {"e": "1"}))
    seen = {"LPJ-KRW": read}
    # when the engine appends another before the consumer starts its idle wait
    newer = stream_id(redis_client.xadd(key, {"e": "2"}))
    started = time.monotonic()
    events_wait(redis_client, ["BTC-KRW", "LPJ-KRW"], 2.0, seen)
    # then the wait returns at once (not after the timeout) and remembers the newer entry
    assert time.monotonic() - started < 1.0
    assert seen == {"LPJ-KRW": newer}
    # and the next wait, with nothing newer, lasts its timeout
    started = time.monotonic()
    events_wait(redis_client, ["LPJ-KRW"], 0.05, seen)
    assert time.monotonic() - started >= 0.045


def test_with_nothing_to_wait_on_it_sleeps(redis_client) -> None:
    import time

    from settlement.consumer import events_wait

    started = time.monotonic()
    events_wait(redis_client, [], 0.05)
    events_wait(redis_client, ["LPJ-KRW"], 0.05)  # nothing appended: the timeout
    assert time.monotonic() - started >= 0.09
