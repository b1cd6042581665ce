"""``python manage.py settle [--shard i/n]``: run the settlement consumer until interrupted."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from settlement.consumer import settle_forever, shard_parse


class Command(BaseCommand):
    help = "Apply the engine's events to PostgreSQL (exactly once), for every market."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=1000, help="events per transaction")
        parser.add_argument("--seconds", type=float, default=None, help="stop after (tests)")
        parser.add_argument(
            "--shard",
            default=None,
            help="i/n: settle only the markets whose id %% n == i (run n "
            "processes, i = 0..n-1, to settle markets in parallel)",
        )

    def handle(self, *args: object, **options: Any) -> None:
        try:
            shard = shard_parse(str(options["shard"])) if options["shard"] else None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        settle_forever(count=int(options["batch"]), stop_after_s=options["seconds"], shard=shard)
