"""How many followers a trader has. Copy trading (an app above this one) registers the real
count in its ``AppConfig.ready``; until then everyone has 0."""

from __future__ import annotations

from collections.abc import Callable, Sequence

FollowersProvider = Callable[[Sequence[int]], dict[int, int]]

_provider: FollowersProvider | None = None


def followers_provider_set(provider: FollowersProvider | None) -> None:
    global _provider
    _provider = provider


def followers_count_many(*, user_ids: Sequence[int]) -> dict[int, int]:
    """Followers per user id (0 for anyone the provider does not name)."""
    counts = _provider(user_ids) if _provider is not None and user_ids else {}
    return {user_id: counts.get(user_id, 0) for user_id in user_ids}
