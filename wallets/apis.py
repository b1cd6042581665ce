"""REST endpoints of the wallet (API.md "Wallet"), mounted at /api/v1/wallet/."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from accounts.requests import AuthenticatedRequest
from tradehive.api_fields import AssetParam, DecimalString, Timestamp
from tradehive.money import format_decimal
from tradehive.openapi import error_responses
from tradehive.pagination import Cursor
from tradehive.query_params import query_validate
from wallets import deposits, selectors, withdrawals


class AssetAmount(DecimalString):
    """Output only: a money value with the decimals of its row's asset (``row.asset``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> tuple[Decimal, int]:
        amount = super().get_attribute(instance)
        assert isinstance(amount, Decimal), amount  # every money column is NOT NULL
        return amount, instance.asset.decimals

    def to_representation(self, value: tuple[Decimal, int]) -> str:  # type: ignore[override]
        amount, places = value
        return format_decimal(Decimal(amount), places)


class AssetSymbol(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("source", "asset.symbol")
        kwargs["read_only"] = True
        super().__init__(**kwargs)


class BalanceListApi(APIView):
    @extend_schema_serializer(component_name="Balance")
    class OutputSerializer(serializers.Serializer):
        asset = AssetSymbol()
        available = AssetAmount()
        locked = AssetAmount()
        total = AssetAmount()

    @extend_schema(responses={200: OutputSerializer(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        rows = selectors.balance_list_for_user(user=request.user)
        return Response(self.OutputSerializer(rows, many=True).data)


class LedgerListApi(APIView):
    pagination_class = Cursor

    class ListQuery(serializers.Serializer):
        asset = AssetParam(required=False)

    @extend_schema_serializer(component_name="LedgerEntry")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        asset = AssetSymbol()
        bucket = serializers.CharField()
        amount = serializers.SerializerMethodField()
        balance_after = AssetAmount()
        kind = serializers.CharField(source="journal.kind")
        reference = serializers.CharField(source="journal.reference")
        created_at = Timestamp(source="journal.created_at")

        def get_amount(self, entry: Any) -> str:
            """Signed: a debit is ``"-0.50000000"``."""
            return format_decimal(entry.amount, entry.asset.decimals)

    @extend_schema(
        parameters=[OpenApiParameter("asset", str, description="only this asset")],
        responses={200: OutputSerializer(many=True)},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        asset = query_validate(self.ListQuery, request).get("asset")
        entries = selectors.ledger_entry_list_for_user(user=request.user, asset_symbol=asset)
        paginator = Cursor()
        page = paginator.paginate_queryset(entries, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


@extend_schema_serializer(component_name="Deposit")
class DepositOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    asset = AssetSymbol()
    amount = AssetAmount()
    status = serializers.CharField()
    created_at = Timestamp()


class DepositListCreateApi(APIView):
    pagination_class = Cursor

    @extend_schema_serializer(component_name="DepositInput")
    class InputSerializer(serializers.Serializer):
        asset = serializers.CharField(max_length=20)
        amount = DecimalString()

    @extend_schema(responses={200: DepositOutputSerializer(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        paginator = Cursor()
        page = paginator.paginate_queryset(
            selectors.deposit_list_for_user(user=request.user), request, view=self
        )
        return paginator.get_paginated_response(DepositOutputSerializer(page, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: DepositOutputSerializer,
            **error_responses(
                {
                    400: "`invalid_input`, `unknown_asset`, `deposit_limit_exceeded`.",
                    403: "`deposits_disabled` for this asset.",
                }
            ),
        },
        examples=[
            OpenApiExample("deposit", request_only=True, value={"asset": "KRW", "amount": "100000"})
        ],
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deposit = deposits.deposit_create(
            user=request.user,
            asset_symbol=data.validated_data["asset"],
            amount=data.validated_data["amount"],
        )
        return Response(DepositOutputSerializer(deposit).data, status=status.HTTP_201_CREATED)


@extend_schema_serializer(component_name="Withdrawal")
class WithdrawalOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    asset = AssetSymbol()
    amount = AssetAmount()
    fee = AssetAmount()
    address = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField(help_text="Why it was rejected (empty otherwise).")
    txid = serializers.CharField(help_text="The chain's transaction id once completed; else empty.")
    created_at = Timestamp()
    updated_at = Timestamp()


class WithdrawalListCreateApi(APIView):
    pagination_class = Cursor
    api_key_permission = {"GET": "read", "POST": "withdraw"}

    @extend_schema_serializer(component_name="WithdrawalInput")
    class InputSerializer(serializers.Serializer):
        asset = serializers.CharField(max_length=20)
        amount = DecimalString()
        address = serializers.CharField(max_length=200)
        otp = serializers.CharField(
            max_length=12, required=False, allow_blank=True, allow_null=True
        )

    @extend_schema(responses={200: WithdrawalOutputSerializer(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        paginator = Cursor()
        page = paginator.paginate_queryset(
            selectors.withdrawal_list_for_user(user=request.user), request, view=self
        )
        return paginator.get_paginated_response(WithdrawalOutputSerializer(page, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: WithdrawalOutputSerializer,
            **error_responses(
                {
                    400: "`invalid_input`, `unknown_asset`, `insufficient_funds`, "
                    "`invalid_address`, `withdrawal_below_minimum`, `otp_invalid`.",
                    401: "`mfa_required`: MFA is on and `otp` is missing, or not authenticated.",
                    403: "`withdrawals_disabled` for this asset.",
                }
            ),
        },
        examples=[
            OpenApiExample(
                "withdrawal",
                request_only=True,
                value={
                    "asset": "KRW",
                    "amount": "20000",
                    "address": "1234567890123",
                    "otp": "123456",
                },
            )
        ],
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        withdrawal = withdrawals.withdrawal_request(
            user=request.user,
            asset_symbol=data.validated_data["asset"],
            amount=data.validated_data["amount"],
            address=data.validated_data["address"],
            otp=data.validated_data.get("otp"),
            api_key=request.auth if isinstance(request.auth, ApiKey) else None,
            request=request._request,
        )
        return Response(WithdrawalOutputSerializer(withdrawal).data, status=status.HTTP_201_CREATED)


class WithdrawalCancelApi(APIView):
    api_key_permission = "withdraw"

    @extend_schema(
        request=None,
        responses={
            200: WithdrawalOutputSerializer,
            **error_responses(
                {409: "`withdrawal_not_pending`: only a pending withdrawal can be cancelled."}
            ),
        },
    )
    def post(self, request: AuthenticatedRequest, withdrawal_id: int) -> Response:
        withdrawal = withdrawals.withdrawal_cancel(
            user=request.user, withdrawal_id=withdrawal_id, request=request._request
        )
        return Response(WithdrawalOutputSerializer(withdrawal).data)
