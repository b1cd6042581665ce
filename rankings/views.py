"""Web pages of the rankings: the leaderboard and public trader profiles (docs/rankings.md).

Both render their data server-side (useful without JavaScript); the profile's equity curve is
drawn by ``static/js/rankings/profile.js`` from a ``json_script`` block (no inline script)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from rankings.followers import copy_terms_for
from rankings.models import Period
from rankings.payloads import leaderboard_entries, trader_profile_payload
from rankings.selectors import (
    leaderboard_page,
    public_trader_get,
    trader_profile,
)

PAGE_ROWS = 100


def _choice(request: HttpRequest, name: str, choices: list[str], default: str) -> str:
    value = request.GET.get(name, default)
    return value if value in choices else default


def leaderboard(request: HttpRequest) -> HttpResponse:
    period = _choice(request, "period", list(Period.values), Period.WEEK)
    sort = _choice(request, "sort", ["return", "pnl"], "return")
    bots = _choice(request, "bots", ["include", "exclude"], "include")
    page = leaderboard_page(
        period=period, sort=sort, bots_excluded=bots == "exclude", after_rank=0, limit=PAGE_ROWS
    )
    return render(
        request,
        "rankings/leaderboard.html",
        {
            "entries": leaderboard_entries(page.rows, places=page.places),
            "period": period,
            "sort": sort,
            "bots": bots,
            "periods": Period.values,
            "computed_at": page.computed_at,
            "reference_asset": settings.RANKINGS_REFERENCE_ASSET,
        },
    )


def trader(request: HttpRequest, handle: str) -> HttpResponse:
    user = public_trader_get(handle=handle)
    if user is None:
        raise Http404("No public trader with this handle.")
    profile = trader_profile_payload(trader_profile(user=user))
    copy = copy_terms_for(user_id=user.pk)
    return render(request, "rankings/trader.html", {"profile": profile, "copy": copy})
