"""Settlement: applies the engine's events to PostgreSQL (orders, fills, trades, the ledger)
exactly once per market (``MarketCursor``), rebuilds a market's engine state from PostgreSQL
(``recovery``) and publishes what each settled batch changed. See docs/architecture.md."""
