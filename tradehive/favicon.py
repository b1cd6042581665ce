"""``GET /favicon.ico``: browsers ask for it at the root whatever the page links, so it is
answered here (through nginx too) with the icon from ``static/``."""

from __future__ import annotations

from functools import lru_cache

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe


@lru_cache(maxsize=1)
def _icon() -> bytes:
    path = finders.find("favicon.ico")
    assert isinstance(path, str), "static/favicon.ico is part of the repository"
    with open(path, "rb") as icon:
        return icon.read()


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_icon(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response
