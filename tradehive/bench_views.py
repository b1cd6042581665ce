"""Benchmark-only endpoints: the stack's ceiling for an authenticated write.

Mounted by ``tradehive/urls.py`` only when ``TRADEHIVE_BENCH_ENDPOINTS=1`` (``bench/orders.py``
sets it for the server it starts); never part of a normal deployment. The table ``bench_ping``
is created with raw SQL by ``bench/orders.py`` in its own database, so no model or migration
exists for it."""

from __future__ import annotations

from typing import Any

from django.db import connection
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class BenchInsertApi(APIView):
    """``POST /api/v1/bench/insert``: the project's default DRF authentication (Bearer JWT, which
    loads the user) and permission (authenticated), JSON body parsed, then ONE INSERT. Nothing
    else: the floor every authenticated write endpoint pays."""

    def post(self, request: Request) -> Response:
        data: Any = request.data
        symbol = str(data.get("symbol", ""))[:21] if isinstance(data, dict) else ""
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_ping (user_id, symbol, created_at)"
                " VALUES (%s, %s, now()) RETURNING id",
                [request.user.pk, symbol],
            )
            (row_id,) = cursor.fetchone()
        return Response({"id": row_id}, status=status.HTTP_201_CREATED)
