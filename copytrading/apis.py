"""Copy-trading endpoints under /api/v1/copy/ (docs/api.md "Copy trading")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.requests import AuthenticatedRequest
from copytrading import selectors, services
from copytrading.errors import LeaderNotFound, SubscriptionNotFound
from copytrading.models import Subscription
from copytrading.payloads import (
    copy_payload,
    leader_payload,
    profit_share_payload,
    subscription_payload,
)
from tradehive.api_fields import DecimalString, StrictChoice, WholeNumber
from tradehive.openapi import error_responses
from tradehive.pagination import Cursor

# What the answers hold (rendered by ``copytrading.payloads``; these only describe them).
_Decimal = serializers.CharField  # a decimal string


class LeaderOut(serializers.Serializer):
    handle = serializers.CharField()
    is_bot = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["active", "stopped"])
    profit_share_rate = _Decimal(help_text="A fraction: 0.1 is 10 %.")
    min_copy_amount = _Decimal()
    max_followers = serializers.IntegerField()
    followers = serializers.IntegerField()
    started_at = serializers.CharField()
    assets_under_copy = _Decimal(required=False, help_text="One leader's answers only.")
    profit_share_earned = _Decimal(required=False, help_text="One leader's answers only.")


class ProfitShareOut(serializers.Serializer):
    id = serializers.IntegerField()
    trigger = serializers.ChoiceField(choices=["periodic", "stop"])
    value = _Decimal()
    mark_before = _Decimal()
    mark_after = _Decimal()
    amount = _Decimal()
    created_at = serializers.CharField()


class SubscriptionOut(serializers.Serializer):
    id = serializers.IntegerField()
    leader = serializers.CharField()
    asset = serializers.CharField()
    mode = serializers.CharField(help_text="`fixed_ratio` or `fixed_amount`.")
    fixed_amount = _Decimal(allow_null=True)
    max_order_quote = _Decimal(allow_null=True)
    markets = serializers.ListField(child=serializers.CharField())
    stop_loss = _Decimal(allow_null=True)
    status = serializers.ChoiceField(choices=["active", "paused", "closing", "stopped"])
    stop_reason = serializers.CharField(allow_blank=True)
    allocated = _Decimal()
    withdrawn = _Decimal()
    high_water_mark = _Decimal()
    profit_share_rate = _Decimal()
    created_at = serializers.CharField()
    stopped_at = serializers.CharField(allow_null=True)
    value = _Decimal()
    pnl = _Decimal()
    return_pct = _Decimal()
    fees = _Decimal()
    profit_share_paid = _Decimal()
    copies_placed = serializers.IntegerField()
    copies_skipped = serializers.IntegerField()
    profit_shares = ProfitShareOut(many=True, required=False, help_text="One copy's answers.")


class CopyOut(serializers.Serializer):
    id = serializers.IntegerField()
    symbol = serializers.CharField()
    side = serializers.CharField(help_text="`buy` or `sell`.")
    leader_order_id = serializers.IntegerField()
    leader_price = _Decimal()
    leader_quantity = _Decimal()
    status = serializers.ChoiceField(choices=["placed", "skipped"])
    reason = serializers.CharField(allow_blank=True)
    detail = serializers.CharField(allow_blank=True)
    order_id = serializers.IntegerField(allow_null=True)
    order_status = serializers.CharField(allow_null=True)
    filled_quantity = _Decimal(allow_null=True)
    filled_quote = _Decimal(allow_null=True)
    created_at = serializers.CharField()


def _page(name: str, item: serializers.Serializer) -> serializers.Serializer:
    return inline_serializer(
        name, {"results": item, "next": serializers.CharField(allow_null=True)}
    )


LeaderList = inline_serializer("CopyLeaderList", {"results": LeaderOut(many=True)})
SubscriptionPage = _page("CopySubscriptionPage", SubscriptionOut(many=True))
CopyPage = _page("CopyPage", CopyOut(many=True))


class StrictInput(serializers.Serializer):
    """Refuses fields it does not know (a typo must not be silently ignored)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {name: ["Unknown field."] for name in sorted(unknown)}
            )
        return attrs


def _places() -> int:
    return services.copy_asset().decimals


# --- leaders -----------------------------------------------------------------------------------


class LeaderListApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="copy_leaders_list", responses={200: LeaderList}, tags=["copy trading"]
    )
    def get(self, request: Request) -> Response:
        places = _places()
        leaders = list(selectors.leader_list()[:200])
        return Response({"results": [leader_payload(x, places=places) for x in leaders]})


class LeaderDetailApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        parameters=[OpenApiParameter("handle", str, OpenApiParameter.PATH)],
        responses={200: LeaderOut, **error_responses({404: "`leader_not_found`."})},
        tags=["copy trading"],
    )
    def get(self, request: Request, handle: str) -> Response:
        leader = selectors.leader_get(handle=handle)
        if leader is None:
            raise LeaderNotFound()
        stats = selectors.leader_stats(leader=leader)
        return Response(leader_payload(leader, places=_places(), stats=stats))


class LeadApi(APIView):
    """My leading: terms and figures (GET), start or change (PUT), stop (DELETE)."""

    class InputSerializer(StrictInput):
        profit_share_rate = DecimalString(required=False, allow_zero=True)
        min_copy_amount = DecimalString(required=False, allow_zero=True)
        max_followers = WholeNumber(required=False, min_value=1, max_value=1_000_000)

    @extend_schema(responses={200: LeaderOut, **error_responses({404: "`leader_not_found`."})})
    def get(self, request: AuthenticatedRequest) -> Response:
        leader = selectors.leader_of(user=request.user)
        if leader is None:
            raise LeaderNotFound("You have never led.")
        stats = selectors.leader_stats(leader=leader)
        return Response(leader_payload(leader, places=_places(), stats=stats))

    @extend_schema(
        request=InputSerializer,
        responses={
            200: LeaderOut,
            **error_responses(
                {400: "`invalid_input`.", 403: "`copy_not_public`: opt in to the rankings first."}
            ),
        },
    )
    def put(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        leader = services.leader_start(
            user=request.user,
            profit_share_rate=values.get("profit_share_rate", Decimal("0.10")),
            min_copy_amount=values.get("min_copy_amount", Decimal(0)),
            max_followers=values.get("max_followers", 1000),
        )
        stats = selectors.leader_stats(leader=leader)
        return Response(leader_payload(leader, places=_places(), stats=stats))

    @extend_schema(
        request=None, responses={200: LeaderOut, **error_responses({404: "`leader_not_found`."})}
    )
    def delete(self, request: AuthenticatedRequest) -> Response:
        leader = services.leader_stop(user=request.user)
        return Response(leader_payload(leader, places=_places()))


# --- subscriptions -----------------------------------------------------------------------------


class TermsInput(StrictInput):
    mode = StrictChoice(choices=Subscription.Mode.choices, required=False)
    fixed_amount = DecimalString(required=False, allow_null=True)
    max_order_quote = DecimalString(required=False, allow_null=True)
    markets = serializers.ListField(
        child=serializers.CharField(max_length=21), required=False, max_length=50
    )
    stop_loss = DecimalString(required=False, allow_null=True)


def _terms(values: dict[str, Any], current: Subscription | None = None) -> services.CopyTerms:
    def pick(name: str, default: Any) -> Any:
        if name in values:
            return values[name]
        return getattr(current, name) if current is not None else default

    return services.CopyTerms(
        mode=pick("mode", Subscription.Mode.FIXED_RATIO),
        fixed_amount=pick("fixed_amount", None),
        max_order_quote=pick("max_order_quote", None),
        markets=pick("markets", []),
        stop_loss=pick("stop_loss", None),
    )


def _mine(request: AuthenticatedRequest, subscription_id: int) -> Subscription:
    sub = selectors.subscription_get_for_user(user=request.user, subscription_id=subscription_id)
    if sub is None:
        raise SubscriptionNotFound()
    return sub


def _detail(sub: Subscription) -> dict[str, Any]:
    body = subscription_payload(sub, selectors.subscription_results([sub])[sub.pk])
    body["profit_shares"] = [
        profit_share_payload(s, sub.asset.decimals)
        for s in selectors.profit_share_list(subscription=sub)[:50]
    ]
    return body


class SubscriptionListApi(APIView):
    pagination_class = Cursor

    class InputSerializer(TermsInput):
        leader = serializers.CharField(max_length=30)
        amount = DecimalString()

    @extend_schema(operation_id="copy_subscriptions_list", responses={200: SubscriptionPage})
    def get(self, request: AuthenticatedRequest) -> Response:
        paginator = Cursor()
        page = paginator.paginate_queryset(
            selectors.subscription_list_for_user(user=request.user), request, view=self
        )
        subs = list(page or [])
        results = selectors.subscription_results(subs)
        return paginator.get_paginated_response(
            [subscription_payload(s, results[s.pk]) for s in subs]
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            201: SubscriptionOut,
            **error_responses(
                {
                    400: "`invalid_input`, `insufficient_funds`, `copy_self`, "
                    "`copy_below_minimum`.",
                    404: "`leader_not_found`.",
                    409: "`copy_already_following`, `copy_leader_full`.",
                }
            ),
        },
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        sub = services.subscription_create(
            follower=request.user,
            leader_handle=values["leader"],
            amount=values["amount"],
            terms=_terms(values),
        )
        sub = _mine(request, sub.pk)
        return Response(_detail(sub), status=status.HTTP_201_CREATED)


class SubscriptionDetailApi(APIView):
    class PatchInput(TermsInput):
        status = StrictChoice(choices=["active", "paused"], required=False)

    @extend_schema(
        responses={200: SubscriptionOut, **error_responses({404: "`subscription_not_found`."})}
    )
    def get(self, request: AuthenticatedRequest, subscription_id: int) -> Response:
        return Response(_detail(_mine(request, subscription_id)))

    @extend_schema(
        request=PatchInput,
        responses={
            200: SubscriptionOut,
            **error_responses(
                {
                    400: "`invalid_input`.",
                    404: "`subscription_not_found`.",
                    409: "`subscription_not_active`.",
                }
            ),
        },
    )
    def patch(self, request: AuthenticatedRequest, subscription_id: int) -> Response:
        sub = _mine(request, subscription_id)
        data = self.PatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        services.subscription_update(
            follower=request.user,
            subscription_id=sub.pk,
            terms=_terms(values, sub),
            status=values.get("status"),
        )
        return Response(_detail(_mine(request, sub.pk)))

    @extend_schema(
        request=None,
        responses={
            200: SubscriptionOut,
            **error_responses(
                {404: "`subscription_not_found`.", 409: "`subscription_not_active`."}
            ),
        },
    )
    def delete(self, request: AuthenticatedRequest, subscription_id: int) -> Response:
        sub = _mine(request, subscription_id)
        services.subscription_stop(follower=request.user, subscription_id=sub.pk)
        return Response(_detail(_mine(request, sub.pk)))


class AmountInput(StrictInput):
    amount = DecimalString()


_MOVE_ERRORS = error_responses(
    {
        400: "`invalid_input`, `insufficient_funds`.",
        404: "`subscription_not_found`.",
        409: "`subscription_not_active`.",
    }
)


class SubscriptionTopUpApi(APIView):
    @extend_schema(request=AmountInput, responses={200: SubscriptionOut, **_MOVE_ERRORS})
    def post(self, request: AuthenticatedRequest, subscription_id: int) -> Response:
        sub = _mine(request, subscription_id)
        data = AmountInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.subscription_top_up(
            follower=request.user, subscription_id=sub.pk, amount=data.validated_data["amount"]
        )
        return Response(_detail(_mine(request, sub.pk)))


class SubscriptionWithdrawApi(APIView):
    @extend_schema(request=AmountInput, responses={200: SubscriptionOut, **_MOVE_ERRORS})
    def post(self, request: AuthenticatedRequest, subscription_id: int) -> Response:
        sub = _mine(request, subscription_id)
        data = AmountInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.subscription_withdraw(
            follower=request.user, subscription_id=sub.pk, amount=data.validated_data["amount"]
        )
        return Response(_detail(_mine(request, sub.pk)))


class CopyListApi(APIView):
    pagination_class = Cursor

    @extend_schema(responses={200: CopyPage, **error_responses({404: "`subscription_not_found`."})})
    def get(self, request: AuthenticatedRequest, subscription_id: int) -> Response:
        sub = _mine(request, subscription_id)
        paginator = Cursor()
        page = paginator.paginate_queryset(
            selectors.copy_list(subscription=sub), request, view=self
        )
        return paginator.get_paginated_response([copy_payload(c) for c in page or []])
