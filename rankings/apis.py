"""Public rankings endpoints under /api/v1/ (API.md "Rankings and copy trading")."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rankings.models import Period
from rankings.payloads import LeaderboardEntryOut, leaderboard_entries, trader_profile_payload
from rankings.selectors import (
    leaderboard_rows,
    public_trader_get,
    rank_column,
    rankings_computed_at,
    trader_profile,
)
from tradehive.errors import NotFound
from tradehive.money import iso_ms
from tradehive.pagination import Cursor
from tradehive.query_params import query_validate


class RankingsQuery(serializers.Serializer):
    period = serializers.ChoiceField(choices=Period.choices, default=Period.WEEK)
    sort = serializers.ChoiceField(choices=["return", "pnl"], default="return")
    bots = serializers.ChoiceField(
        choices=["include", "exclude"],
        default="include",
        help_text="`exclude` ranks human traders only (bots are labelled `is_bot`).",
    )


class RankCursor(Cursor):
    """Pages in rank order (ascending); the position is a rank, a whole number like an id."""

    page_size = 50
    max_page_size = 200


class PublicApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []


class RankingsApi(PublicApi):
    @extend_schema(
        parameters=[RankingsQuery],
        responses=inline_serializer(
            "RankingsPage",
            {
                "results": LeaderboardEntryOut(many=True),
                "next": serializers.CharField(allow_null=True),
                "computed_at": serializers.CharField(allow_null=True),
            },
        ),
        tags=["rankings"],
    )
    def get(self, request: Request) -> Response:
        query = query_validate(RankingsQuery, request)
        bots_excluded = query["bots"] == "exclude"
        rows = leaderboard_rows(
            period=query["period"], sort=query["sort"], bots_excluded=bots_excluded
        )
        paginator = RankCursor()
        paginator.ordering = rank_column(sort=query["sort"], bots_excluded=bots_excluded)
        page = paginator.paginate_queryset(rows, request, view=self) or []
        computed_at = rankings_computed_at()
        return Response(
            {
                "results": leaderboard_entries(list(page)),
                "next": paginator.next_cursor(),
                "computed_at": iso_ms(computed_at) if computed_at else None,
            }
        )


class TraderApi(PublicApi):
    @extend_schema(
        parameters=[OpenApiParameter("handle", str, OpenApiParameter.PATH)],
        responses={200: inline_serializer("TraderProfile", {"trader": serializers.CharField()})},
        tags=["rankings"],
    )
    def get(self, request: Request, handle: str) -> Response:
        user = public_trader_get(handle=handle)
        if user is None:
            raise NotFound("No public trader with this handle.")
        return Response(trader_profile_payload(trader_profile(user=user)))
