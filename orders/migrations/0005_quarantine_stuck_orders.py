"""Repair orders committed before placement checked the engine's range: pending, never
acknowledged, not representable by the engine (their funds stayed locked and the relay failed
on them forever). Each is rejected and its hold released through the ledger, by the management
command ``orders_quarantine_stuck``.

The command runs today's code, so it only runs when the historical models find pending orders
the engine never acknowledged: on a new database (or one without such orders) the migration
reads one row count and nothing else."""

from django.core.management import call_command
from django.db import migrations


def quarantine_stuck_orders(apps, schema_editor):
    order_model = apps.get_model("orders", "Order")
    if order_model.objects.filter(status="pending", engine_seq__isnull=True).exists():
        call_command("orders_quarantine_stuck")


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0004_outbox_quarantine"),
        ("accounts", "0003_user_case_insensitive_names"),
        ("wallets", "0003_alter_ledgerentry_account_alter_ledgerentry_asset"),
        ("markets", "0002_alter_trade_pair"),
    ]

    operations = [
        migrations.RunPython(quarantine_stuck_orders, migrations.RunPython.noop, elidable=True),
    ]
