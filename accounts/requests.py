"""Request types for code that only runs for a signed-in user.

The API's default permission is ``IsAuthenticated``, the web pages are ``login_required`` and
the admin's views are staff-only, so ``request.user`` there is always a ``User``; the stubs type
it ``User | AnonymousUser``. Annotating such a view's request with these types says so once,
instead of a check or a cast at every use. They are annotations only: Django and DRF build the
requests as usual."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from rest_framework.request import Request

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User


if TYPE_CHECKING:

    class AuthenticatedRequest(Request):
        @property
        def user(self) -> User: ...
        @user.setter
        def user(self, value: User) -> None: ...

else:
    AuthenticatedRequest = Request
