"""Public rankings endpoints under /api/v1/ (API.md "Rankings and copy trading")."""

from __future__ import annotations

from base64 import b64encode
from urllib.parse import urlencode

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rankings.models import Period
from rankings.payloads import LeaderboardEntryOut, leaderboard_entries, trader_profile_payload
from rankings.selectors import (
    leaderboard_page,
    public_trader_get,
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
    """Pages in rank order (ascending); the position is the last rank shown, a whole number
    like an id, in the same opaque form as every other cursor of the API."""

    page_size = 50
    max_page_size = 200

    def after_rank(self, request: Request) -> int:
        """The rank the requested page follows (0: the first page); 400 for a cursor we did
        not write (a backwards or offset cursor included)."""
        position = self.decode_cursor(request)
        if position is None:
            return 0
        if position.reverse or position.offset or position.position is None:
            raise ValidationError(
                {"cursor": ["Invalid cursor: pass back a `next` value unchanged."]}
            )
        return int(position.position)

    def rank_cursor(self, rank: int) -> str:
        return b64encode(urlencode({"p": rank}).encode("ascii")).decode("ascii")


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
        paginator = RankCursor()
        limit = paginator.get_page_size(request)
        page = leaderboard_page(
            period=query["period"],
            sort=query["sort"],
            bots_excluded=query["bots"] == "exclude",
            after_rank=paginator.after_rank(request),
            limit=limit,
        )
        last_rank = page.rows[-1].rank if page.rows else 0  # type: ignore[attr-defined]
        return Response(
            {
                "results": leaderboard_entries(page.rows, places=page.places),
                "next": paginator.rank_cursor(last_rank) if page.more else None,
                "computed_at": iso_ms(page.computed_at) if page.computed_at else None,
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
