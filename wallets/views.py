"""The wallet web page: balances, deposit and withdrawal forms, my withdrawals, ledger history.

The forms call the same services as the REST API; a domain error is shown next to its field."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.mfa import mfa_enabled
from accounts.requests import AuthenticatedHttpRequest
from tradehive.errors import DomainError, RateLimited
from tradehive.money import format_amount
from wallets import deposits, selectors, withdrawals
from wallets.forms import DepositForm, WithdrawalForm
from wallets.payloads import withdrawal_terms_payloads


def _page(
    request: AuthenticatedHttpRequest,
    *,
    deposit_form: DepositForm | None = None,
    withdrawal_form: WithdrawalForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    balances = selectors.balance_list_for_user(user=user)
    context = {
        "balances": balances,
        "withdrawal_terms": withdrawal_terms_payloads(
            assets=selectors.asset_list_active(),
            available={row.asset.pk: row.available for row in balances},
        ),
        "deposits": selectors.deposit_list_for_user(user=user)[:10],
        "withdrawals": selectors.withdrawal_list_for_user(user=user)[:20],
        "entries": selectors.ledger_entry_list_for_user(user=user)[:50],
        "deposit_form": deposit_form or DepositForm(),
        "withdrawal_form": withdrawal_form or WithdrawalForm(),
        "mfa_on": mfa_enabled(user),
    }
    return render(request, "wallets/wallet.html", context, status=status)


def _show_error(form: forms.Form, error: DomainError) -> None:
    placed = False
    for field, problems in error.fields.items():
        if field in form.fields:
            for problem in problems:
                form.add_error(field, problem)
            placed = True
    if not placed:
        form.add_error(None, error.message)


@login_required
@require_GET
def wallet_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def deposit(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = DepositForm(request.POST)
    if form.is_valid():
        try:
            made = deposits.deposit_create(
                user=request.user,
                asset_symbol=form.cleaned_data["asset"],
                amount=form.cleaned_data["amount"],
            )
        except DomainError as error:
            _show_error(form, error)
        else:
            shown = format_amount(made.amount, made.asset.decimals)
            messages.success(request, f"Deposited {shown} {made.asset.symbol}.")
            return redirect("wallets:home")
    return _page(request, deposit_form=form, status=400)


@login_required
@require_POST
def withdraw(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = WithdrawalForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            made = withdrawals.withdrawal_request(
                user=request.user,
                asset_symbol=data["asset"],
                amount=data["amount"],
                address=data["address"],
                otp=data["otp"] or None,
                request=request,
            )
        except RateLimited as error:
            # Too many one-time codes: the wait goes on the code field, as the API's 429.
            form.add_error("otp", error.message)
            page = _page(request, withdrawal_form=form, status=error.status)
            page["Retry-After"] = str(error.retry_after)
            return page
        except DomainError as error:
            if error.code == "mfa_required":
                form.add_error("otp", error.message)
            else:
                _show_error(form, error)
        else:
            shown = format_amount(made.amount, made.asset.decimals)
            messages.success(
                request,
                f"Withdrawal #{made.pk} of {shown} {made.asset.symbol} requested; it is pending "
                "review.",
            )
            return redirect("wallets:home")
    return _page(request, withdrawal_form=form, status=400)


@login_required
@require_POST
def withdrawal_cancel(request: AuthenticatedHttpRequest, withdrawal_id: int) -> HttpResponse:
    try:
        withdrawals.withdrawal_cancel(
            user=request.user, withdrawal_id=withdrawal_id, request=request
        )
    except DomainError as error:
        messages.error(request, error.message)
        if error.status == 404:
            return _page(request, status=404)
    else:
        messages.success(request, f"Withdrawal #{withdrawal_id} cancelled; funds released.")
    return redirect("wallets:home")
