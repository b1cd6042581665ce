"""The matching engine: order books in Redis, matched by Lua scripts, events on a stream.

It knows no Django model and imports no app (only ``tradehive`` kernel modules): settlement
(``settlement``) turns its events into PostgreSQL rows. See docs/engine.md."""
