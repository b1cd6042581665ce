import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rankings', '0001_initial'),
    ]

    operations = [
        # The tables are caches; emptying them (watermarks included) makes the next refresh
        # rebuild them from the fills and the ledger in the new layout.
        migrations.RunSQL(
            "TRUNCATE rankings_assetprice, rankings_leaderboardrow, rankings_rankingsstate",
            migrations.RunSQL.noop,
        ),
        migrations.DeleteModel(name='HoldingBucket'),
        migrations.DeleteModel(name='Snapshot'),
        migrations.AddField(
            model_name='rankingsstate',
            name='now_hour',
            field=models.DateTimeField(blank=True, help_text="The current hour of the last refresh (PeriodState's).", null=True),
        ),
        migrations.CreateModel(
            name='PeriodState',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('period', models.CharField(choices=[('day', 'Day'), ('week', 'Week'), ('month', 'Month'), ('all', 'All')], max_length=5)),
                ('user_id', models.BigIntegerField()),
                ('start_hour', models.DateTimeField(null=True)),
                ('start_equity', models.DecimalField(decimal_places=18, max_digits=38, null=True)),
                ('start_log', models.DecimalField(decimal_places=12, max_digits=30, null=True)),
                ('start_asset_ids', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), null=True, size=None)),
                ('start_held', django.contrib.postgres.fields.ArrayField(base_field=models.DecimalField(decimal_places=18, max_digits=38, null=True), null=True, size=None)),
                ('closed_snapshots', models.IntegerField()),
                ('closed_flow', models.DecimalField(decimal_places=18, max_digits=38)),
                ('closed_trades', models.BigIntegerField()),
                ('closed_volume', models.DecimalField(decimal_places=18, max_digits=38)),
                ('closed_log_max', models.DecimalField(decimal_places=12, max_digits=30, null=True)),
                ('closed_log_min', models.DecimalField(decimal_places=12, max_digits=30, null=True)),
                ('closed_drawdown', models.DecimalField(decimal_places=12, max_digits=30, null=True)),
                ('first_day', models.DateField(null=True)),
                ('first_close', models.DecimalField(decimal_places=12, max_digits=30, null=True)),
                ('first_trades', models.BigIntegerField(null=True)),
                ('last_day', models.DateField(null=True)),
                ('last_close', models.DecimalField(decimal_places=12, max_digits=30, null=True)),
                ('last_trades', models.BigIntegerField(null=True)),
                ('prelast_close', models.DecimalField(decimal_places=12, max_digits=30, null=True)),
                ('mid_trading_days', models.IntegerField()),
                ('mid_winning_days', models.IntegerField()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('period', 'user_id'), name='rankings_state_unique')],
            },
        ),
        migrations.CreateModel(
            name='Snapshot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('user_id', models.BigIntegerField()),
                ('hour', models.DateTimeField()),
                ('equity', models.DecimalField(decimal_places=18, max_digits=38)),
                ('flow', models.DecimalField(decimal_places=18, max_digits=38)),
                ('trades', models.IntegerField()),
                ('volume', models.DecimalField(decimal_places=18, max_digits=38)),
                ('log_value', models.DecimalField(decimal_places=12, max_digits=30)),
                ('units', models.DecimalField(decimal_places=18, max_digits=38)),
                ('asset_ids', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), size=None)),
                ('held', django.contrib.postgres.fields.ArrayField(base_field=models.DecimalField(decimal_places=18, max_digits=38, null=True), size=None)),
                ('flowed', django.contrib.postgres.fields.ArrayField(base_field=models.DecimalField(decimal_places=18, max_digits=38, null=True), null=True, size=None)),
                ('traded', django.contrib.postgres.fields.ArrayField(base_field=models.DecimalField(decimal_places=18, max_digits=38, null=True), null=True, size=None)),
            ],
            options={
                'indexes': [models.Index(fields=['hour'], name='rankings_snapshot_hour')],
                'constraints': [models.UniqueConstraint(fields=('user_id', 'hour'), name='rankings_snapshot_unique')],
            },
        ),
        migrations.CreateModel(
            name='LeaderboardPage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('period', models.CharField(choices=[('day', 'Day'), ('week', 'Week'), ('month', 'Month'), ('all', 'All')], max_length=5)),
                ('ranking', models.CharField(choices=[('rank_return', 'Return'), ('rank_pnl', 'Pnl'), ('rank_return_human', 'Return Human'), ('rank_pnl_human', 'Pnl Human')], max_length=17)),
                ('chunk', models.IntegerField()),
                ('user_ids', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), size=None)),
            ],
        ),
        migrations.RemoveIndex(
            model_name='leaderboardrow',
            name='rankings_row_by_return',
        ),
        migrations.RemoveIndex(
            model_name='leaderboardrow',
            name='rankings_row_by_pnl',
        ),
        migrations.RemoveIndex(
            model_name='leaderboardrow',
            name='rankings_row_by_return_h',
        ),
        migrations.RemoveIndex(
            model_name='leaderboardrow',
            name='rankings_row_by_pnl_h',
        ),
        migrations.AddConstraint(
            model_name='leaderboardpage',
            constraint=models.UniqueConstraint(fields=('period', 'ranking', 'chunk'), name='rankings_page_unique'),
        ),
    ]
