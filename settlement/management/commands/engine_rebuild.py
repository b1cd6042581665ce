"""``python manage.py engine_rebuild [SYMBOL ...]``: settle what is pending, then rebuild books."""

from typing import Any

from django.core.management.base import BaseCommand

from markets.models import TradingPair
from settlement.consumer import consumer_name
from settlement.recovery import engine_recover
from settlement.services import settle_market, settlement_group_ensure
from tradehive.redis_client import get_redis


class Command(BaseCommand):
    help = "Rebuild the engine's books (and stop sets) from PostgreSQL's open orders."

    def add_arguments(self, parser) -> None:
        parser.add_argument("symbols", nargs="*", help="markets (default: all)")
        parser.add_argument(
            "--missing",
            action="store_true",
            help="only markets without engine state (make run, at start); others are left as is",
        )

    def handle(self, *args: object, **options: Any) -> None:
        pairs = TradingPair.objects.select_related("base", "quote")
        if options["symbols"]:
            pairs = pairs.filter(symbol__in=[s.upper() for s in options["symbols"]])
        client = get_redis()
        for pair in pairs:
            if options["missing"]:
                # What settlement and the feed pass do for a market without engine state on
                # first touch, done once before they start (make run), so they need not.
                epoch = engine_recover(pair=pair)
                if epoch is not None and options["verbosity"]:
                    self.stdout.write(f"{pair.symbol}: rebuilt (epoch {epoch})")
                continue
            settlement_group_ensure(client, pair.symbol)
            # Apply every event still in the stream first: the rebuilt book must include them.
            while settle_market(pair=pair, consumer=consumer_name(), client=client).applied:
                pass
            epoch = engine_recover(pair=pair, force=True)
            if options["verbosity"]:
                self.stdout.write(f"{pair.symbol}: rebuilt (epoch {epoch})")
