"""The Orders page: every market's open orders, order history and fills of the signed-in user,
filtered, paged and exported as CSV; cancels from the page. Thin: the form parses the filters,
the selectors read, the services cancel."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.requests import AuthenticatedHttpRequest
from orders.cancel import order_cancel, order_cancel_all
from orders.forms import TABS, OrderFilterForm, OrderFilters
from orders.models import Fill, Order
from orders.notifications import order_words
from orders.payloads import FILL_CSV_HEADER, ORDER_CSV_HEADER, fill_csv_row, order_csv_row
from orders.selectors import fill_list_for_user, order_list_for_user
from tradehive.errors import DomainError

PAGE_SIZE = 50


def _filters(request: AuthenticatedHttpRequest) -> tuple[OrderFilterForm, OrderFilters]:
    form = OrderFilterForm(request.GET)
    return form, form.filters() if form.is_valid() else OrderFilters()


def _orders(request: AuthenticatedHttpRequest, filters: OrderFilters) -> QuerySet[Order]:
    return order_list_for_user(
        user=request.user,
        symbol=filters.symbol,
        status="open" if filters.tab == "open" else filters.status or "closed",
        side=filters.side,
        created_from=filters.created_from,
        created_before=filters.created_before,
    )


def _fills(request: AuthenticatedHttpRequest, filters: OrderFilters) -> QuerySet[Fill]:
    return fill_list_for_user(
        user=request.user,
        symbol=filters.symbol,
        side=filters.side,
        created_from=filters.created_from,
        created_before=filters.created_before,
    )


@login_required
@require_GET
def orders_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    rows = _fills(request, filters) if filters.tab == "fills" else _orders(request, filters)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "orders/orders.html",
        {"form": form, "filters": filters, "tabs": TABS, "page": page},
        status=200 if form.is_valid() else 400,
    )


class _Line:
    """A file-like ``csv.writer`` target that hands back each line written."""

    def write(self, text: str) -> str:
        return text


# A cell a spreadsheet would run as a formula starts with one of these: written as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(cells: list[str]) -> list[str]:
    return [f"'{c}" if c.startswith(_FORMULA_STARTS) and not _is_number(c) else c for c in cells]


def _is_number(text: str) -> bool:
    return text.lstrip("-").replace(".", "", 1).isdigit()


def _csv_lines(header: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(_safe(row))


@login_required
@require_GET
def orders_export(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """The rows the page shows under the same filters, all of them, as CSV."""
    form, filters = _filters(request)
    if not form.is_valid():
        return HttpResponse(
            "The filters are not valid; fix them on the Orders page.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    if filters.tab == "fills":
        fills = _fills(request, filters).iterator(chunk_size=2000)
        lines = _csv_lines(FILL_CSV_HEADER, (fill_csv_row(f) for f in fills))
    else:
        orders = _orders(request, filters).iterator(chunk_size=2000)
        lines = _csv_lines(ORDER_CSV_HEADER, (order_csv_row(o) for o in orders))
    name = f"tradehive-{filters.tab}-{date.today():%Y%m%d}.csv"  # noqa: DTZ011 - a file name
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _back(request: AuthenticatedHttpRequest) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ) and target.startswith("/"):
        return target
    return reverse("orders:page")


@login_required
@require_POST
def order_cancel_view(request: AuthenticatedHttpRequest, order_id: int) -> HttpResponse:
    try:
        order = order_cancel(user=request.user, order_id=order_id)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        shown = "cancelled" if order.status == "cancelled" else "being cancelled"
        messages.success(request, f"{order_words(order)}: {shown}.")
    return redirect(_back(request))


@login_required
@require_POST
def orders_cancel_all_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        cancelled = order_cancel_all(user=request.user, symbol=request.POST.get("market") or None)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        count = len(cancelled)
        messages.success(
            request,
            f"{count} open order{'' if count == 1 else 's'} cancelled."
            if count
            else "You had no open orders.",
        )
    return redirect(_back(request))
