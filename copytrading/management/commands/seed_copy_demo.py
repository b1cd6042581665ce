"""``python manage.py seed_copy_demo``: the copy-trading demo of ``make run`` (idempotent)."""

from django.core.management.base import BaseCommand

from copytrading.demo import DEMO_FOLLOWERS, copy_demo_ensure


class Command(BaseCommand):
    help = "Make the demo trend bot a copy-trading leader with demo followers (safe to repeat)."

    def handle(self, *args: object, **options: object) -> None:
        leader, created = copy_demo_ensure()
        if not options["verbosity"]:
            return  # -v 0 (make run): quiet
        self.stdout.write(
            f"Copy trading: {leader.user.handle} leads, copied by {', '.join(DEMO_FOLLOWERS)}"
            + (f" ({created} new)" if created else "")
        )
