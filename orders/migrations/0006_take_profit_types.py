"""Take-profit order types. ``type`` widens to 18 characters ("take_profit_market"): on PostgreSQL
widening a varchar changes only the catalog, so the table is not rewritten."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0005_quarantine_stuck_orders'),
    ]

    operations = [
        migrations.AlterField(
            model_name='order',
            name='type',
            field=models.CharField(choices=[('limit', 'Limit'), ('market', 'Market'), ('stop_limit', 'Stop Limit'), ('stop_market', 'Stop Market'), ('take_profit_limit', 'Take Profit Limit'), ('take_profit_market', 'Take Profit Market')], max_length=18),
        ),
    ]
