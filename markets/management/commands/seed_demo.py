"""``python manage.py seed_demo``: idempotent demo data for ``make run``."""

from django.core.management.base import BaseCommand

from accounts.services import demo_admin_ensure
from markets.services import pair_seed_defaults
from wallets.seed import asset_seed_defaults


class Command(BaseCommand):
    help = "Create the demo admin, assets and trading pairs (safe to run repeatedly)."

    def handle(self, *args: object, **options: object) -> None:
        # -v 0 (make run) prints nothing: the launcher shows the logins once the site answers.
        def say(text: str) -> None:
            if options["verbosity"]:
                self.stdout.write(text)

        admin, password = demo_admin_ensure()
        say(f"Demo admin: username 'admin', password '{password}' (/admin/)")
        assets = asset_seed_defaults()
        say(f"Assets: {', '.join(a.symbol for a in assets)}")
        pairs = pair_seed_defaults(actor=admin)
        say(f"Markets: {', '.join(p.symbol for p in pairs)}")
        # feeds: the house is the counterparty of feed-priced fills; fund it from outside.
        from feeds.house import HOUSE_DEMO_FUNDS, house_fund

        house_fund(amounts=HOUSE_DEMO_FUNDS)
        say(
            "House liquidity: "
            + ", ".join(
                f"{amount:,} {symbol}" for symbol, amount in sorted(HOUSE_DEMO_FUNDS.items())
            )
        )
