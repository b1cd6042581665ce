"""``python manage.py seed_demo``: idempotent demo data for ``make run``."""

from django.core.management.base import BaseCommand

from accounts.services import demo_admin_ensure
from markets.services import pair_seed_defaults
from wallets.seed import asset_seed_defaults


class Command(BaseCommand):
    help = "Create the demo admin, assets and trading pairs (safe to run repeatedly)."

    def handle(self, *args: object, **options: object) -> None:
        admin, password = demo_admin_ensure()
        self.stdout.write(f"Demo admin: username 'admin', password '{password}' (/admin/)")
        assets = asset_seed_defaults()
        self.stdout.write(f"Assets: {', '.join(a.symbol for a in assets)}")
        pairs = pair_seed_defaults(actor=admin)
        self.stdout.write(f"Markets: {', '.join(p.symbol for p in pairs)}")
        # feeds: the house is the counterparty of feed-priced fills; fund it from outside.
        from feeds.house import HOUSE_DEMO_FUNDS, house_fund

        house_fund(amounts=HOUSE_DEMO_FUNDS)
        self.stdout.write(
            "House liquidity: "
            + ", ".join(
                f"{amount:,} {symbol}" for symbol, amount in sorted(HOUSE_DEMO_FUNDS.items())
            )
        )
