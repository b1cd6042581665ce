"""REST endpoints for orders and fills (API.md "Orders"). Thin: parse, call a service, render."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.requests import AuthenticatedRequest
from orders.cancel import order_cancel, order_cancel_all
from orders.errors import OrderNotFound
from orders.models import Fill, Order, OrderType, Side, TimeInForce
from orders.payloads import fill_payload, order_payload
from orders.selectors import fill_list_for_user, order_get_for_user, order_list_for_user
from orders.services import order_place
from orders.terms import CLIENT_ORDER_ID_PATTERN, STP_MODES
from tradehive.api_fields import (
    DecimalString,
    StrictBoolean,
    StrictChoice,
    SymbolParam,
    Timestamp,
)
from tradehive.openapi import error_responses
from tradehive.pagination import Cursor
from tradehive.query_params import query_validate


@extend_schema_serializer(component_name="Order")
class OrderOutputSerializer(serializers.ModelSerializer):
    """API.md's order object (rendered by ``orders.payloads.order_payload``)."""

    symbol = serializers.CharField(source="pair.symbol")
    price = DecimalString(allow_null=True)
    stop_price = DecimalString(allow_null=True)
    quantity = DecimalString(allow_null=True)
    quote_amount = DecimalString(allow_null=True)
    filled_quantity = DecimalString()
    filled_quote = DecimalString()
    average_price = DecimalString(allow_null=True)
    fee_paid = DecimalString()
    copied_from = serializers.IntegerField(
        source="copied_from_id",
        allow_null=True,
        help_text="A copy-trading mirror: the id of the leader's order it copies; else null.",
    )
    created_at = Timestamp()
    updated_at = Timestamp()

    class Meta:
        model = Order
        fields = [
            "id",
            "client_order_id",
            "symbol",
            "side",
            "type",
            "time_in_force",
            "post_only",
            "price",
            "stop_price",
            "quantity",
            "quote_amount",
            "filled_quantity",
            "filled_quote",
            "average_price",
            "fee_paid",
            "status",
            "cancel_reason",
            "copied_from",
            "created_at",
            "updated_at",
        ]

    def to_representation(self, instance: Order) -> dict[str, Any]:
        return order_payload(instance)


@extend_schema_serializer(component_name="Fill")
class FillOutputSerializer(serializers.ModelSerializer):
    """API.md's fill object (rendered by ``orders.payloads.fill_payload``)."""

    order_id = serializers.IntegerField()
    symbol = serializers.CharField(source="pair.symbol")
    price = DecimalString()
    quantity = DecimalString()
    quote_quantity = DecimalString()
    fee = DecimalString()
    fee_asset = serializers.CharField(source="fee_asset.symbol")
    created_at = Timestamp()

    class Meta:
        model = Fill
        fields = [
            "id",
            "order_id",
            "symbol",
            "side",
            "price",
            "quantity",
            "quote_quantity",
            "fee",
            "fee_asset",
            "liquidity",
            "created_at",
        ]

    def to_representation(self, instance: Fill) -> dict[str, Any]:
        return fill_payload(instance)


def _order_place_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "symbol": data["symbol"],
        "side": data["side"],
        "type": data["type"],
        "quantity": data.get("quantity"),
        "quote_amount": data.get("quote_amount"),
        "price": data.get("price"),
        "stop_price": data.get("stop_price"),
        "time_in_force": data.get("time_in_force"),
        "post_only": data["post_only"],
        "client_order_id": data.get("client_order_id"),
        "stp_mode": data.get("self_trade_prevention"),
    }


class OrderListApi(APIView):
    pagination_class = Cursor

    @extend_schema_serializer(component_name="OrderInput")
    class InputSerializer(serializers.Serializer):
        symbol = serializers.CharField(max_length=21)
        side = StrictChoice(choices=Side.choices)
        type = StrictChoice(choices=OrderType.choices)
        quantity = DecimalString(required=False)
        quote_amount = DecimalString(required=False)
        price = DecimalString(required=False)
        stop_price = DecimalString(required=False)
        time_in_force = StrictChoice(choices=TimeInForce.choices, required=False)
        post_only = StrictBoolean(required=False, default=False)
        client_order_id = serializers.RegexField(CLIENT_ORDER_ID_PATTERN, required=False)
        self_trade_prevention = StrictChoice(choices=list(STP_MODES), required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            unknown = set(self.initial_data) - set(self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in sorted(unknown)}
                )
            return attrs

    class ListQuery(serializers.Serializer):
        symbol = SymbolParam(required=False)
        status = StrictChoice(choices=["open", "closed", "all"], required=False, default="all")

    class CancelAllQuery(serializers.Serializer):
        symbol = SymbolParam(required=False)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OrderOutputSerializer,
            **error_responses(
                {
                    400: "`invalid_input`, `invalid_precision`, `below_min_notional`, "
                    "`insufficient_funds`, `would_take`, `stop_would_trigger`, "
                    "`insufficient_liquidity` and friends.",
                    404: "`unknown_market`.",
                    409: "`duplicate_client_order_id` with other parameters, or `conflict`: "
                    "the market changed meanwhile.",
                    423: "`market_halted` or `market_cancel_only`: the market takes no new orders.",
                }
            ),
        },
        examples=[
            OpenApiExample(
                "limit buy",
                request_only=True,
                value={
                    "symbol": "LPJ-KRW",
                    "side": "buy",
                    "type": "limit",
                    "price": "1000",
                    "quantity": "2",
                    "client_order_id": "my-order-1",
                },
            ),
            OpenApiExample(
                "market buy spending an amount of quote",
                request_only=True,
                value={
                    "symbol": "LPJ-KRW",
                    "side": "buy",
                    "type": "market",
                    "quote_amount": "5000",
                },
            ),
        ],
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = order_place(user=request.user, **_order_place_kwargs(serializer.validated_data))
        return Response(order_payload(order), status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[ListQuery], responses={200: OrderOutputSerializer(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        query = query_validate(self.ListQuery, request)
        orders: QuerySet[Order] = order_list_for_user(
            user=request.user, symbol=query.get("symbol"), status=query["status"]
        )
        paginator = Cursor()
        page = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response(OrderOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="v1_orders_cancel_all",
        parameters=[OpenApiParameter("symbol", str, description="only this market")],
        responses={
            200: OrderOutputSerializer(many=True),
            **error_responses({404: "`unknown_market`."}),
        },
    )
    def delete(self, request: AuthenticatedRequest) -> Response:
        symbol = query_validate(self.CancelAllQuery, request).get("symbol")
        orders = order_cancel_all(user=request.user, symbol=symbol)
        return Response(OrderOutputSerializer(orders, many=True).data)


class OrderDetailApi(APIView):
    @extend_schema(responses={200: OrderOutputSerializer})
    def get(self, request: AuthenticatedRequest, order_id: int) -> Response:
        order = order_get_for_user(user=request.user, order_id=order_id)
        if order is None:
            raise OrderNotFound()
        return Response(OrderOutputSerializer(order).data)

    @extend_schema(
        operation_id="v1_orders_cancel",
        responses={
            200: OrderOutputSerializer,
            **error_responses({409: "`order_not_open`: the order is already closed."}),
        },
    )
    def delete(self, request: AuthenticatedRequest, order_id: int) -> Response:
        order = order_cancel(user=request.user, order_id=order_id)
        return Response(OrderOutputSerializer(order).data)


class FillListApi(APIView):
    pagination_class = Cursor

    class ListQuery(serializers.Serializer):
        symbol = SymbolParam(required=False)

    @extend_schema(
        parameters=[OpenApiParameter("symbol", str, description="only this market")],
        responses={200: FillOutputSerializer(many=True)},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        symbol = query_validate(self.ListQuery, request).get("symbol")
        fills = fill_list_for_user(user=request.user, symbol=symbol)
        paginator = Cursor()
        page = paginator.paginate_queryset(fills, request, view=self)
        return paginator.get_paginated_response(FillOutputSerializer(page, many=True).data)
