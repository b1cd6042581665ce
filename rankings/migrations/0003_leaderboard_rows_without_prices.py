import django.contrib.postgres.fields
from django.db import migrations, models

_PERIODS = [('day', 'Day'), ('week', 'Week'), ('month', 'Month'), ('all', 'All')]


def _money(**options):
    return models.DecimalField(decimal_places=18, max_digits=38, **options)


def _log():
    return models.DecimalField(decimal_places=12, max_digits=30)


class Migration(migrations.Migration):

    dependencies = [
        ('rankings', '0002_snapshot_holdings_period_state'),
    ]

    operations = [
        # The leaderboard rows change meaning (what does not move with prices); the next
        # refresh writes them, the marks and the ranks for every trader (none has a mark).
        migrations.DeleteModel(name='LeaderboardRow'),
        migrations.RunSQL("DELETE FROM rankings_leaderboardpage", migrations.RunSQL.noop),
        migrations.CreateModel(
            name='LeaderboardRow',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('period', models.CharField(choices=_PERIODS, max_length=5)),
                ('user_id', models.BigIntegerField()),
                ('is_bot', models.BooleanField()),
                ('start_log', _log()),
                ('pnl_base', _money()),
                ('drawdown_log', _log()),
                ('peak_log', _log()),
                ('win_rate', models.DecimalField(decimal_places=2, max_digits=7, null=True)),
                ('trades', models.BigIntegerField()),
                ('volume', _money()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('period', 'user_id'), name='rankings_row_unique')],
            },
        ),
        migrations.CreateModel(
            name='TraderMark',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('user_id', models.BigIntegerField(unique=True)),
                ('is_bot', models.BooleanField()),
                ('hour', models.DateTimeField()),
                ('equity', _money()),
                ('log_value', _log()),
                ('asset_ids', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), size=None)),
                ('held', django.contrib.postgres.fields.ArrayField(base_field=_money(null=True), size=None)),
                ('flow', _money()),
                ('trades', models.IntegerField()),
                ('volume', _money()),
            ],
        ),
        migrations.AddField(
            model_name='leaderboardpage',
            name='last_key',
            field=_money(default=0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='leaderboardpage',
            name='last_user',
            field=models.BigIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name='leaderboardpage',
            index=models.Index(fields=['period', 'ranking', '-last_key', 'last_user'], name='rankings_page_by_key'),
        ),
        migrations.AddField(
            model_name='rankingsstate',
            name='prices',
            field=django.contrib.postgres.fields.ArrayField(base_field=_money(null=True), blank=True, help_text="The current hour's prices by asset id (index = id; NULL: no path).", null=True, size=None),
        ),
        migrations.AddField(
            model_name='rankingsstate',
            name='min_equity',
            field=_money(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='rankingsstate',
            name='min_trades',
            field=models.IntegerField(blank=True, null=True),
        ),
    ]
