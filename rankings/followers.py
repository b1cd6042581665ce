"""How many followers a trader has, and whether they can be copied. Copy trading (an app above
this one) registers the real answers in its ``AppConfig.ready``; until then everyone has 0
followers and no copy terms."""

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


# A trader's copy-trading terms for their profile ("Copy this trader"), or None when they do not
# lead. Registered by copy trading too.
CopyTermsProvider = Callable[[int], dict[str, object] | None]

_terms_provider: CopyTermsProvider | None = None


def copy_terms_provider_set(provider: CopyTermsProvider | None) -> None:
    global _terms_provider
    _terms_provider = provider


def copy_terms_for(*, user_id: int) -> dict[str, object] | None:
    return _terms_provider(user_id) if _terms_provider is not None else None
