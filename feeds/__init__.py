"""Price feeds: outside prices for feed-priced markets, their Redis price windows, and the
matching passes that fill resting orders against the house (docs/feeds.md)."""
