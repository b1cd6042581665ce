"""Admin: assets CRUD; accounts, balances, journals, entries and deposits read-only; the
withdrawal approval queue (complete/reject actions); an adjustment form per account."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts.requests import AuthenticatedHttpRequest
from tradehive.admin_columns import amount_column
from tradehive.errors import DomainError
from tradehive.form_fields import STRICT_DECIMAL_OVERRIDES
from wallets import services, withdrawals
from wallets.forms import AmountField
from wallets.models import (
    Account,
    Asset,
    Balance,
    Deposit,
    JournalTransaction,
    LedgerEntry,
    Withdrawal,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money rows change only through the ledger services: view only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    formfield_overrides = STRICT_DECIMAL_OVERRIDES
    list_display = (
        "symbol",
        "name",
        "decimals",
        "is_active",
        "deposit_enabled",
        "withdrawal_enabled",
        "withdrawal_fee_shown",
        "withdrawal_min_shown",
    )
    withdrawal_fee_shown = amount_column("withdrawal_fee", lambda asset: asset.decimals)
    withdrawal_min_shown = amount_column("withdrawal_min", lambda asset: asset.decimals)
    list_filter = ("is_active", "deposit_enabled", "withdrawal_enabled")
    search_fields = ("symbol", "name")

    def get_readonly_fields(self, request: HttpRequest, obj: Asset | None = None) -> Any:
        # Changing decimals under existing balances would make them unrepresentable.
        return ("symbol", "decimals") if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # assets are referenced by balances and the ledger; deactivate instead


class BalanceInline(ReadOnlyInline):
    model = Balance
    fields = ("asset", "available", "locked")


class TxidForm(forms.Form):
    txid = forms.CharField(
        label="Transaction id",
        max_length=100,
        help_text="The chain's id of the transaction that sent them (shown to the user).",
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why, in words the user understands (shown to them).",
    )


class AdjustmentForm(forms.Form):
    asset = forms.ModelChoiceField(queryset=Asset.objects.order_by("symbol"))
    direction = forms.ChoiceField(
        choices=[("credit", "Credit (from external)"), ("debit", "Debit (to external)")]
    )
    amount = AmountField(max_length=60)
    reason = forms.CharField(max_length=200, widget=forms.Textarea(attrs={"rows": 2}))


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "user", "created_at", "adjust_link")
    list_filter = ("kind",)
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)
    inlines = [BalanceInline]
    readonly_fields = ("kind", "user", "created_at", "adjust_link")

    @admin.display(description="Adjust")
    def adjust_link(self, account: Account) -> str:
        url = reverse("admin:wallets_account_adjust", args=[account.pk])
        return format_html('<a href="{}">credit / debit…</a>', url)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:account_id>/adjust/",
                self.admin_site.admin_view(self.adjust_view),
                name="wallets_account_adjust",
            ),
            *super().get_urls(),
        ]

    def adjust_view(self, request: AuthenticatedHttpRequest, account_id: int) -> HttpResponse:
        """An admin's credit/debit against the external account with a reason (audited)."""
        if not request.user.has_perm("wallets.add_journaltransaction") and not (
            request.user.is_superuser
        ):
            messages.error(request, "You are not allowed to adjust balances.")
            return HttpResponseRedirect(reverse("admin:wallets_account_changelist"))
        account = get_object_or_404(Account, pk=account_id)
        form = AdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                journal = services.wallet_adjust(
                    account=account,
                    asset=data["asset"],
                    direction=data["direction"],
                    amount=data["amount"],
                    reason=data["reason"],
                    admin=request.user,
                    request=request,
                )
            except DomainError as error:
                form.add_error("amount" if "amount" in error.fields else None, error.message)
            else:
                messages.success(request, f"Adjustment journal #{journal.pk} posted.")
                return HttpResponseRedirect(
                    reverse("admin:wallets_account_change", args=[account.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adjust balance of {account}",
            "account": account,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/wallets/adjust.html", context)


@admin.register(Balance)
class BalanceAdmin(ReadOnlyAdmin):
    list_display = ("account", "asset", "available_shown", "locked_shown")
    available_shown = amount_column("available", lambda row: row.asset.decimals)
    locked_shown = amount_column("locked", lambda row: row.asset.decimals)
    list_filter = ("asset", "account__kind")
    search_fields = ("account__user__username",)
    list_select_related = ("account", "asset")


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ("account", "asset", "bucket", "amount", "balance_after")


@admin.register(JournalTransaction)
class JournalTransactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "reference", "memo", "created_at")
    list_filter = ("kind",)
    search_fields = ("reference",)
    inlines = [LedgerEntryInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "journal",
        "account",
        "asset",
        "bucket",
        "amount_shown",
        "balance_after_shown",
    )
    amount_shown = amount_column("amount", lambda row: row.asset.decimals)
    balance_after_shown = amount_column("balance_after", lambda row: row.asset.decimals)
    list_filter = ("asset", "bucket", "journal__kind")
    search_fields = ("journal__reference", "account__user__username")
    list_select_related = ("journal", "account", "asset")


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "asset", "amount_shown", "status", "created_at")
    amount_shown = amount_column("amount", lambda row: row.asset.decimals)
    list_filter = ("asset",)
    search_fields = ("user__username",)
    list_select_related = ("user", "asset")


class WithdrawalQueueFilter(admin.SimpleListFilter):
    """The approval queue: pending by default."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*Withdrawal.Status.choices, ("all", "All")]

    def choices(self, changelist: Any) -> Any:
        for value, label in self.lookup_choices:
            yield {
                "selected": (self.value() or "pending") == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value() or "pending"
        return queryset if value == "all" else queryset.filter(status=value)


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "user",
        "asset",
        "amount_shown",
        "fee_shown",
        "address",
        "status",
        "txid",
        "created_at",
        "decided_by",
    )
    amount_shown = amount_column("amount", lambda row: row.asset.decimals)
    fee_shown = amount_column("fee", lambda row: row.asset.decimals)
    list_filter = (WithdrawalQueueFilter, "asset")
    search_fields = ("user__username", "address")
    list_select_related = ("user", "asset", "decided_by")
    actions = ["complete_selected", "reject_selected"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Needed for the actions to show; fields stay read-only (see get_readonly_fields).
        return bool(request.user.has_perm("wallets.change_withdrawal"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [field.name for field in Withdrawal._meta.fields]

    def _decide(self, request: HttpRequest, queryset: QuerySet, decide: Any, done: str) -> None:
        ok, failed = 0, []
        for withdrawal_id in queryset.values_list("pk", flat=True):
            try:
                decide(withdrawal_id)
            except DomainError as error:
                failed.append(f"#{withdrawal_id}: {error.message}")
            else:
                ok += 1
        if ok:
            messages.success(request, f"{ok} withdrawal(s) {done}.")
        for problem in failed:
            messages.error(request, problem)

    def _ask(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        form: forms.Form,
        *,
        action: str,
        title: str,
        explanation: str,
        button: str,
    ) -> TemplateResponse:
        """The action's second step: what the user is shown (a transaction id, a reason)."""
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "explanation": explanation,
            "button": button,
            "action": action,
            "form": form,
            "withdrawals": queryset.select_related("asset", "user").order_by("pk"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/wallets/withdrawal_decide.html", context)

    @admin.action(
        description="Complete (mark sent, with the transaction id)", permissions=["change"]
    )
    def complete_selected(
        self, request: AuthenticatedHttpRequest, queryset: QuerySet
    ) -> TemplateResponse | None:
        form = TxidForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            txid = form.cleaned_data["txid"]
            self._decide(
                request,
                queryset,
                lambda pk: withdrawals.withdrawal_complete(
                    withdrawal_id=pk, admin=request.user, txid=txid, request=request
                ),
                "completed",
            )
            return None
        return self._ask(
            request,
            queryset,
            form,
            action="complete_selected",
            title="Complete withdrawals",
            explanation="Send these on the chain first, then paste the transaction id: each "
            "user is shown it with their withdrawal.",
            button="Mark sent",
        )

    @admin.action(description="Reject (release the funds, with a reason)", permissions=["change"])
    def reject_selected(
        self, request: AuthenticatedHttpRequest, queryset: QuerySet
    ) -> TemplateResponse | None:
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            self._decide(
                request,
                queryset,
                lambda pk: withdrawals.withdrawal_reject(
                    withdrawal_id=pk, admin=request.user, reason=reason, request=request
                ),
                "rejected",
            )
            return None
        return self._ask(
            request,
            queryset,
            form,
            action="reject_selected",
            title="Reject withdrawals",
            explanation="Each amount and fee goes back to the user's available balance. The "
            "reason is shown to each user.",
            button="Reject",
        )
