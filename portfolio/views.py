"""The portfolio page: total value, allocation, profit and loss since a date, and the money
story. Thin: the form reads the date, the selectors compute, the template shows."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.requests import AuthenticatedHttpRequest
from portfolio.forms import PRESETS, SinceForm
from portfolio.selectors import activity_list, portfolio_get, portfolio_pnl
from wallets.selectors import asset_list_active

# The asset values are shown in, and the others the total is also given in.
REFERENCE = "KRW"
ALSO = ("USDT",)


@login_required
@require_GET
def portfolio_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    assets = {asset.symbol: asset for asset in asset_list_active()}
    reference = assets.get(REFERENCE) or next(iter(assets.values()), None)
    form = SinceForm(request.GET)
    context = {"form": form, "presets": PRESETS, "reference": reference}
    if reference is not None:
        context.update(
            portfolio=portfolio_get(
                user=request.user,
                reference=reference,
                also=[assets[s] for s in ALSO if s in assets and s != reference.symbol],
            ),
            pnl=portfolio_pnl(user=request.user, reference=reference, since=form.moment()),
            activity=activity_list(user=request.user),
        )
    return render(
        request, "portfolio/portfolio.html", context, status=200 if form.is_valid() else 400
    )
