"""``python manage.py seed_demo``: idempotent demo data for ``make run``."""

from django.core.management.base import BaseCommand

from accounts.services import demo_admin_ensure


class Command(BaseCommand):
    help = "Create the demo admin, assets and trading pairs (safe to run repeatedly)."

    def handle(self, *args: object, **options: object) -> None:
        _, password = demo_admin_ensure()
        self.stdout.write(f"Demo admin: username 'admin', password '{password}' (/admin/)")
