"""Copy-trading web pages (docs/copytrading.md): leaders to copy, my copies with their
results, one copy's history, following a trader, and leading. Forms call the same services as
the API; a refusal is shown next to its field or as a message."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.requests import AuthenticatedHttpRequest
from copytrading import selectors, services
from copytrading.forms import FollowForm, LeadForm, MoveForm
from copytrading.models import Leader, Subscription
from copytrading.payloads import (
    copy_payload,
    leader_payload,
    profit_share_payload,
    subscription_payload,
)
from markets.models import TradingPair
from tradehive.errors import DomainError


def _show_error(form: forms.Form, error: DomainError, names: dict[str, str] | None = None) -> None:
    placed = False
    for field, problems in error.fields.items():
        field = (names or {}).get(field, field)
        if field in form.fields:
            for problem in problems:
                form.add_error(field, problem)
            placed = True
    if not placed:
        form.add_error(None, error.message)


@login_required
@require_GET
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _home(request)


def _home(
    request: AuthenticatedHttpRequest, *, lead_form: LeadForm | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    places = services.copy_asset().decimals
    subs = list(selectors.subscription_list_for_user(user=user)[:50])
    results = selectors.subscription_results(subs)
    leader = selectors.leader_of(user=user)
    leading = None
    if leader is not None:
        leading = leader_payload(leader, places=places, stats=selectors.leader_stats(leader=leader))
    if lead_form is None:
        initial = {}
        if leader is not None:
            initial = {
                "profit_share_pct": f"{(leader.profit_share_rate * 100).normalize():f}",
                "min_copy_amount": f"{leader.min_copy_amount.normalize():f}",
                "max_followers": leader.max_followers,
            }
        lead_form = LeadForm(initial=initial)
    context = {
        "asset": services.copy_asset().symbol,
        "subscriptions": [subscription_payload(s, results[s.pk]) for s in subs],
        "leaders": [leader_payload(x, places=places) for x in selectors.leader_list()[:50]],
        "leading": leading,
        "lead_active": leader is not None and leader.status == Leader.Status.ACTIVE,
        "public": user.rankings_opt_in and not user.rankings_excluded,
        "lead_form": lead_form,
    }
    return render(request, "copytrading/home.html", context, status=status)


@login_required
@require_POST
def lead(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = LeadForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.leader_start(
                user=request.user,
                profit_share_rate=data["profit_share_pct"],
                min_copy_amount=data["min_copy_amount"],
                max_followers=data["max_followers"],
            )
        except DomainError as error:
            _show_error(
                form,
                error,
                {"profit_share_rate": "profit_share_pct", "min_copy_amount": "min_copy_amount"},
            )
        else:
            messages.success(request, "You are leading: others can copy you from your profile.")
            return redirect("copytrading:home")
    return _home(request, lead_form=form, status=400)


@login_required
@require_POST
def lead_stop(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        services.leader_stop(user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "You stopped leading; your followers' copies are closing.")
    return redirect("copytrading:home")


def _markets() -> list[str]:
    asset = services.copy_asset()
    return list(
        TradingPair.objects.filter(quote=asset)
        .order_by("display_order", "symbol")
        .values_list("symbol", flat=True)
    )


@login_required
@require_http_methods(["GET", "POST"])
def follow(request: AuthenticatedHttpRequest, handle: str) -> HttpResponse:
    leader = selectors.leader_get(handle=handle)
    if leader is None:
        raise Http404("This trader does not lead copy trading.")
    places = services.copy_asset().decimals
    form = FollowForm(request.POST or None, markets=_markets())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sub = services.subscription_create(
                follower=request.user,
                leader_handle=leader.user.handle,
                amount=data["amount"],
                terms=services.CopyTerms(
                    mode=data["mode"],
                    fixed_amount=data["fixed_amount"],
                    max_order_quote=data["max_order_quote"],
                    markets=data["markets"],
                    stop_loss=data["stop_loss_pct"],
                ),
            )
        except DomainError as error:
            _show_error(form, error, {"stop_loss": "stop_loss_pct"})
        else:
            messages.success(request, f"You now copy {leader.user.handle}.")
            return redirect("copytrading:subscription", subscription_id=sub.pk)
    context = {
        "leader": leader_payload(
            leader, places=places, stats=selectors.leader_stats(leader=leader)
        ),
        "profit_share_pct": f"{(leader.profit_share_rate * 100).normalize():f}",
        "form": form,
        "asset": services.copy_asset().symbol,
    }
    return render(
        request,
        "copytrading/follow.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


def _subscription(request: AuthenticatedHttpRequest, subscription_id: int) -> Subscription:
    sub = selectors.subscription_get_for_user(user=request.user, subscription_id=subscription_id)
    if sub is None:
        raise Http404("No such copy of yours.")
    return sub


@login_required
@require_GET
def subscription(request: AuthenticatedHttpRequest, subscription_id: int) -> HttpResponse:
    sub = _subscription(request, subscription_id)
    context = {
        "sub": subscription_payload(sub, selectors.subscription_results([sub])[sub.pk]),
        "copies": [copy_payload(c) for c in selectors.copy_list(subscription=sub)[:100]],
        "shares": [
            profit_share_payload(s, sub.asset.decimals)
            for s in selectors.profit_share_list(subscription=sub)[:50]
        ],
        "live": sub.status in (Subscription.Status.ACTIVE, Subscription.Status.PAUSED),
        "move_form": MoveForm(),
    }
    return render(request, "copytrading/subscription.html", context)


@login_required
@require_POST
def subscription_action(
    request: AuthenticatedHttpRequest, subscription_id: int, action: str
) -> HttpResponse:
    sub = _subscription(request, subscription_id)
    user = request.user
    try:
        if action == "stop":
            services.subscription_stop(follower=user, subscription_id=sub.pk)
            messages.success(request, "Copy stopped: what it held is sold and returned to you.")
        elif action in ("pause", "resume"):
            terms = services.CopyTerms(
                mode=sub.mode,
                fixed_amount=sub.fixed_amount,
                max_order_quote=sub.max_order_quote,
                markets=sub.markets,
                stop_loss=sub.stop_loss,
            )
            status = "paused" if action == "pause" else "active"
            services.subscription_update(
                follower=user, subscription_id=sub.pk, terms=terms, status=status
            )
            messages.success(request, "Copy paused." if action == "pause" else "Copy resumed.")
        elif action in ("top-up", "withdraw"):
            form = MoveForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Enter an amount, e.g. 10000.")
                return redirect("copytrading:subscription", subscription_id=sub.pk)
            amount = form.cleaned_data["amount"]
            if action == "top-up":
                services.subscription_top_up(follower=user, subscription_id=sub.pk, amount=amount)
                messages.success(request, "Added to the copy's allocation.")
            else:
                services.subscription_withdraw(follower=user, subscription_id=sub.pk, amount=amount)
                messages.success(request, "Moved back to your wallet.")
        else:
            raise Http404("No such action.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("copytrading:subscription", subscription_id=sub.pk)
