"""``python manage.py simulate_market``: demo bots that keep book-priced markets alive."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orders.simulation import DEFAULT_PLANS, MarketSimulator, simulation_run


class Command(BaseCommand):
    help = (
        "Run the demo bots (bot_maker_*, bot_taker_1): they quote both sides of the "
        "book-priced markets and trade now and then. Stops on SIGINT/SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=None, help="random seed (repeatable runs)")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between steps")
        parser.add_argument(
            "--trade-every",
            type=float,
            default=3.0,
            help="seconds between a market's bot trades (on average)",
        )
        parser.add_argument("--seconds", type=float, default=None, help="stop after (tests)")
        parser.add_argument(
            "--markets",
            default=None,
            help="comma-separated symbols (default: every planned market)",
        )

    def handle(self, *args: object, **options: Any) -> None:
        plans = DEFAULT_PLANS
        if options["markets"]:
            wanted = {s.strip().upper() for s in options["markets"].split(",")}
            plans = tuple(plan for plan in DEFAULT_PLANS if plan.symbol in wanted)
        simulator = MarketSimulator(
            plans=plans, seed=options["seed"], trade_every_s=options["trade_every"]
        )
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(
            f"Demo bots on {', '.join(p.symbol for p in plans)} "
            f"(seed {options['seed']}); Ctrl-C stops them."
        )
        totals = simulation_run(
            simulator=simulator,
            interval_s=options["interval"],
            seconds=options["seconds"],
            should_stop=lambda: stopping,
        )
        self.stdout.write(
            f"Demo bots stopped: {totals.placed} placed, {totals.cancelled} "
            f"cancelled, {totals.taker_orders} trades sent, {totals.errors} errors."
        )
