"""The protocol module alone: parsing, channel names, the rate limiter, depth sequencing."""

from __future__ import annotations

import pytest

from realtime import protocol
from realtime.protocol import Auth, Ping, ProtocolError, Subscribe, Unsubscribe


def known(symbol: str) -> bool:
    return symbol in {"BTC-KRW", "LPJ-KRW"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"op":"subscribe","channels":["ticker:BTC-KRW"]}', Subscribe(("ticker:BTC-KRW",))),
        ('{"op":"unsubscribe","channels":["a","a","b"]}', Unsubscribe(("a", "b"))),
        ('{"op":"auth","token":"abc"}', Auth("abc")),
        ('{"op":"ping"}', Ping()),
    ],
)
def test_valid_messages_parse_into_operations(text, expected) -> None:
    # given / when
    op = protocol.parse_message(text)
    # then
    assert op == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{nope", "bad_json"),
        ("[" * 4000 + "]" * 4000, "bad_json"),
        ('{"op":"subscribe","channels":' + "[" * 2000 + "]" * 2000 + "}", "bad_json"),
        ('{"op":"ping","op":"auth","token":"x"}', "bad_json"),
        ('{"op":"ping","n":NaN}', "bad_json"),
        ('{"op":"auth","token":"a\\u0000b"}', "bad_json"),
        ("[1, 2]", "bad_request"),
        ('{"op":"dance"}', "unknown_op"),
        ('{"channels":[]}', "unknown_op"),
        ('{"op":"subscribe","channels":"ticker:BTC-KRW"}', "bad_request"),
        ('{"op":"subscribe","channels":[]}', "bad_request"),
        ('{"op":"auth"}', "bad_request"),
        (None, "bad_request"),
        ("x" * (protocol.MAX_MESSAGE_CHARS + 1), "message_too_large"),
    ],
)
def test_bad_messages_raise_their_error_code(text, code) -> None:
    # given / when
    with pytest.raises(ProtocolError) as caught:
        protocol.parse_message(text)
    # then
    assert caught.value.code == code
    assert caught.value.as_message()["op"] == "error"


def test_more_channels_than_allowed_in_one_message_are_refused() -> None:
    # given
    names = [f"ticker:M{i}-KRW" for i in range(protocol.MAX_SUBSCRIPTIONS + 1)]
    # when
    with pytest.raises(ProtocolError) as caught:
        protocol.parse_message(protocol.op_message("subscribe", channels=names))
    # then
    assert caught.value.code == "too_many_subscriptions"


@pytest.mark.parametrize(
    ("name", "kind", "symbol", "interval", "canonical"),
    [
        ("ticker:btc-krw", "ticker", "BTC-KRW", None, "ticker:BTC-KRW"),
        ("depth:LPJ-KRW", "depth", "LPJ-KRW", None, "depth:LPJ-KRW"),
        ("trades:LPJ-KRW", "trades", "LPJ-KRW", None, "trades:LPJ-KRW"),
        ("candles:LPJ-KRW:1m", "candles", "LPJ-KRW", "1m", "candles:LPJ-KRW:1m"),
        ("fills", "fills", None, None, "fills"),
        ("notifications", "notifications", None, None, "notifications"),
    ],
)
def test_channel_names_parse_into_canonical_channels(
    name, kind, symbol, interval, canonical
) -> None:
    # given / when
    channel = protocol.parse_channel(name, market_exists=known)
    # then
    assert (channel.kind, channel.symbol, channel.interval, channel.name) == (
        kind,
        symbol,
        interval,
        canonical,
    )
    assert channel.private is (symbol is None)


def test_channel_groups_are_per_market_or_per_user() -> None:
    # given
    depth = protocol.parse_channel("depth:LPJ-KRW", market_exists=known)
    fills = protocol.parse_channel("fills", market_exists=known)
    # when / then
    assert depth.group() == "depth.LPJ-KRW"
    assert fills.group(user_id=7) == "user.7.fills"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("ticker:DOGE-KRW", "unknown_market"),
        ("weather:BTC-KRW", "unknown_channel"),
        ("ticker", "unknown_channel"),
        ("ticker:BTC-KRW:1m", "unknown_channel"),
        ("candles:BTC-KRW:7m", "unknown_interval"),
        ("candles:BTC-KRW", "unknown_interval"),
        (42, "unknown_channel"),
    ],
)
def test_unknown_channels_and_markets_are_refused(name, code) -> None:
    # given / when
    with pytest.raises(ProtocolError) as caught:
        protocol.parse_channel(name, market_exists=known)
    # then
    assert caught.value.code == code


def test_rate_limiter_allows_bursts_then_the_sustained_rate() -> None:
    # given a clock that stands still, then moves a second
    now = [0.0]
    limiter = protocol.RateLimiter(rate=20, burst=40, clock=lambda: now[0])
    # when a burst of 41 arrives at once
    allowed = [limiter.allow() for _ in range(41)]
    # then the burst passes and the 41st is refused
    assert allowed == [True] * 40 + [False]
    # when a second passes, 20 more pass and the 21st does not
    now[0] += 1.0
    assert [limiter.allow() for _ in range(21)] == [True] * 20 + [False]


@pytest.mark.parametrize(
    ("current", "prev", "seq", "action"),
    [
        (10, 10, 14, "apply"),
        (14, 10, 14, "skip"),
        (20, 10, 14, "skip"),
        (10, 12, 14, "gap"),
        (None, 10, 14, "gap"),
    ],
)
def test_depth_updates_continue_skip_or_gap(current, prev, seq, action) -> None:
    # given / when / then
    assert protocol.depth_accepts(current, {"prev_sequence": prev, "sequence": seq}) == action
