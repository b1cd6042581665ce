"""The incremental candle roll-up of trades_record."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, transaction

from markets.intervals import bucket_start
from markets.models import Candle, Trade
from markets.services import TradeInput, trades_record

pytestmark = pytest.mark.django_db


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# sequence, time, price, quantity: they cross 1m/5m/15m/1h/4h boundaries at 04:00 and the
# 15m one at 04:15 and the day at midnight.
TRADES = [
    TradeInput(
        sequence=1,
        created_at=at("2026-03-01 03:59:30"),
        price=D(100),
        quantity=D(1),
        taker_side="buy",
    ),
    TradeInput(
        sequence=2,
        created_at=at("2026-03-01 03:59:50"),
        price=D(105),
        quantity=D(2),
        taker_side="buy",
    ),
    TradeInput(
        sequence=3,
        created_at=at("2026-03-01 04:00:10"),
        price=D(98),
        quantity=D(1),
        taker_side="sell",
    ),
    TradeInput(
        sequence=4,
        created_at=at("2026-03-01 04:14:59.999"),
        price=D(110),
        quantity=D("0.5"),
        taker_side="buy",
    ),
    TradeInput(
        sequence=5,
        created_at=at("2026-03-01 04:15:00"),
        price=D(101),
        quantity=D(3),
        taker_side="sell",
    ),
    TradeInput(
        sequence=6,
        created_at=at("2026-03-01 23:59:59"),
        price=D(90),
        quantity=D(1),
        taker_side="sell",
    ),
    TradeInput(
        sequence=7,
        created_at=at("2026-03-02 00:00:00"),
        price=D(95),
        quantity=D(1),
        taker_side="buy",
    ),
]

# (interval, bucket): (open, high, low, close, volume, quote volume, trades), worked out by hand.
EXPECTED = {
    ("1m", "2026-03-01 03:59"): (100, 105, 100, 105, 3, 310, 2),
    ("1m", "2026-03-01 04:00"): (98, 98, 98, 98, 1, 98, 1),
    ("1m", "2026-03-01 04:14"): (110, 110, 110, 110, "0.5", 55, 1),
    ("1m", "2026-03-01 04:15"): (101, 101, 101, 101, 3, 303, 1),
    ("1m", "2026-03-01 23:59"): (90, 90, 90, 90, 1, 90, 1),
    ("1m", "2026-03-02 00:00"): (95, 95, 95, 95, 1, 95, 1),
    ("5m", "2026-03-01 03:55"): (100, 105, 100, 105, 3, 310, 2),
    ("5m", "2026-03-01 04:00"): (98, 98, 98, 98, 1, 98, 1),
    ("5m", "2026-03-01 04:10"): (110, 110, 110, 110, "0.5", 55, 1),
    ("5m", "2026-03-01 04:15"): (101, 101, 101, 101, 3, 303, 1),
    ("5m", "2026-03-01 23:55"): (90, 90, 90, 90, 1, 90, 1),
    ("5m", "2026-03-02 00:00"): (95, 95, 95, 95, 1, 95, 1),
    ("15m", "2026-03-01 03:45"): (100, 105, 100, 105, 3, 310, 2),
    ("15m", "2026-03-01 04:00"): (98, 110, 98, 110, "1.5", 153, 2),
    ("15m", "2026-03-01 04:15"): (101, 101, 101, 101, 3, 303, 1),
    ("15m", "2026-03-01 23:45"): (90, 90, 90, 90, 1, 90, 1),
    ("15m", "2026-03-02 00:00"): (95, 95, 95, 95, 1, 95, 1),
    ("1h", "2026-03-01 03:00"): (100, 105, 100, 105, 3, 310, 2),
    ("1h", "2026-03-01 04:00"): (98, 110, 98, 101, "4.5", 456, 3),
    ("1h", "2026-03-01 23:00"): (90, 90, 90, 90, 1, 90, 1),
    ("1h", "2026-03-02 00:00"): (95, 95, 95, 95, 1, 95, 1),
    ("4h", "2026-03-01 00:00"): (100, 105, 100, 105, 3, 310, 2),
    ("4h", "2026-03-01 04:00"): (98, 110, 98, 101, "4.5", 456, 3),
    ("4h", "2026-03-01 20:00"): (90, 90, 90, 90, 1, 90, 1),
    ("4h", "2026-03-02 00:00"): (95, 95, 95, 95, 1, 95, 1),
    ("1d", "2026-03-01 00:00"): (100, 110, 90, 90, "8.5", 856, 6),
    ("1d", "2026-03-02 00:00"): (95, 95, 95, 95, 1, 95, 1),
}


def candles_of(pair) -> dict[tuple[str, str], tuple]:
    return {
        (c.interval, f"{c.bucket.astimezone(UTC):%Y-%m-%d %H:%M}"): (
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume,
            c.quote_volume,
            c.trade_count,
        )
        for c in Candle.objects.filter(pair=pair)
    }


def expected() -> dict[tuple[str, str], tuple]:
    return {key: (*(D(str(v)) for v in values[:6]), values[6]) for key, values in EXPECTED.items()}


@pytest.mark.parametrize(
    "batches",
    [
        pytest.param([[1, 2, 3, 4, 5, 6, 7]], id="one-batch-in-order"),
        pytest.param([[1], [2], [3], [4], [5], [6], [7]], id="one-trade-per-batch"),
        pytest.param([[5, 1, 7], [3, 6, 2, 4]], id="out-of-order-across-batches"),
        pytest.param([[7, 6, 5, 4, 3, 2, 1]], id="reversed-in-one-batch"),
    ],
)
def test_trades_roll_up_into_exact_ohlcv_for_every_interval(btc_krw, batches) -> None:
    # given the trades of the table above, recorded in these batches
    by_sequence = {t.sequence: t for t in TRADES}
    # when each batch is recorded in its own transaction
    for batch in batches:
        with transaction.atomic():
            trades_record(pair=btc_krw, trades=[by_sequence[s] for s in batch])
    # then every interval's candles are exactly the hand-computed ones: open/close follow the
    # engine sequence, and an interval with no trade has no candle at all
    assert candles_of(btc_krw) == expected()
    assert Trade.objects.filter(pair=btc_krw).count() == 7


@pytest.mark.parametrize(
    "batches",
    [
        pytest.param([[1, 2, 3, 4, 5, 6, 7]], id="one-batch-in-order"),
        pytest.param([[5, 1, 7], [3, 6, 2, 4]], id="out-of-order-across-batches"),
    ],
)
def test_recorded_trades_are_the_inputs_exactly(btc_krw, batches) -> None:
    # given the trades of the table above, in these batches
    by_sequence = {t.sequence: t for t in TRADES}
    # when each batch is recorded in its own transaction
    for batch in batches:
        with transaction.atomic():
            trades_record(pair=btc_krw, trades=[by_sequence[s] for s in batch])
    # then the candles are the hand-computed ones and the trades are the inputs, exactly
    assert candles_of(btc_krw) == expected()
    rows = Trade.objects.filter(pair=btc_krw).order_by("sequence")
    assert [
        (t.sequence, t.price, t.quantity, t.quote_quantity, t.taker_side, t.created_at)
        for t in rows
    ] == [
        (t.sequence, t.price, t.quantity, t.price * t.quantity, t.taker_side, t.created_at)
        for t in TRADES
    ]


def test_quote_quantity_defaults_to_price_times_quantity(btc_krw) -> None:
    # given a fill without quote quantity and one with the engine's own
    trades = [
        TradeInput(
            sequence=1,
            created_at=at("2026-03-01 00:00:01"),
            price=D(50001),
            quantity=D("0.0003"),
            taker_side="buy",
        ),
        TradeInput(
            sequence=2,
            created_at=at("2026-03-01 00:00:02"),
            price=D(50001),
            quantity=D("0.0003"),
            taker_side="buy",
            quote_quantity=D(15),
        ),
    ]
    # when recorded
    trades_record(pair=btc_krw, trades=trades)
    # then
    created = Trade.objects.filter(pair=btc_krw).order_by("sequence")
    assert [t.quote_quantity for t in created] == [D("15.0003"), D(15)]
    day = Candle.objects.get(pair=btc_krw, interval="1d")
    assert day.quote_volume == D("30.0003")


def test_a_replayed_sequence_is_refused_and_counts_nothing(btc_krw) -> None:
    # given a recorded trade
    trades_record(pair=btc_krw, trades=TRADES[:1])
    # when the same engine sequence comes again
    with pytest.raises(IntegrityError), transaction.atomic():
        trades_record(pair=btc_krw, trades=TRADES[:1])
    # then the candle still counts it once
    assert Candle.objects.get(pair=btc_krw, interval="1m").trade_count == 1


def test_a_batch_costs_a_fixed_number_of_queries(btc_krw, django_assert_num_queries) -> None:
    # given a batch of 100 trades over 10 minutes
    trades = [
        TradeInput(
            sequence=n,
            created_at=at("2026-03-01 10:00:00").replace(minute=n // 10, second=n % 10),
            price=D(100 + n % 7),
            quantity=D(1),
            taker_side="buy",
        )
        for n in range(100)
    ]
    # when recorded: one INSERT of the trades, one upsert of every candle they touch
    with django_assert_num_queries(2):
        trades_record(pair=btc_krw, trades=trades)
    # then
    assert Candle.objects.get(pair=btc_krw, interval="1h").trade_count == 100
    assert Candle.objects.filter(pair=btc_krw, interval="1m").count() == 10


@pytest.mark.parametrize(
    ("moment", "interval", "bucket"),
    [
        ("2026-03-01 03:59:59.999999", "1m", "2026-03-01 03:59:00"),
        ("2026-03-01 04:14:59", "15m", "2026-03-01 04:00:00"),
        ("2026-03-01 07:59:59", "4h", "2026-03-01 04:00:00"),
        ("2026-03-01 23:59:59", "1d", "2026-03-01 00:00:00"),
        ("1969-12-31 23:59:30", "1m", "1969-12-31 23:59:00"),
    ],
)
def test_buckets_are_utc_aligned(moment, interval, bucket) -> None:
    assert bucket_start(at(moment), interval) == at(bucket)
