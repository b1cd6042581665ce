"""``python manage.py settle``: run the settlement consumer until interrupted."""

from django.core.management.base import BaseCommand

from matching.consumer import settle_forever


class Command(BaseCommand):
    help = "Apply the engine's events to PostgreSQL (exactly once), for every market."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, default=1000, help="events per transaction")
        parser.add_argument("--seconds", type=float, default=None, help="stop after (tests)")

    def handle(self, *args: object, **options: object) -> None:
        settle_forever(count=int(options["batch"]), stop_after_s=options["seconds"])
