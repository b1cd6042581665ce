"""``Content-Security-Policy`` on every answer.

The site's pages load scripts, styles and images from their own origin only (no inline
``<script>``, no ``style=""`` attributes: templates keep to that; one vendored stylesheet is
allowed by its hash), talk to their own origin over
fetch and websockets, and may not be framed. Django admin and Swagger UI (``/api/docs/``) set
inline styles from their own JavaScript, so those two paths also allow inline styles; scripts
stay same-origin everywhere. JSON answers get the same header, which costs nothing and covers an
answer a browser is tricked into rendering."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# The one stylesheet a script injects: lightweight-charts' attribution logo (static/vendor/
# lightweight-charts), allowed by its hash; tradehive/tests/test_security_headers.py recomputes it
# from the vendored file, so an upgrade that changes it fails there.
CHART_LOGO_STYLE_HASH = "'sha256-3pRED1tOXas1FXFoPb9TGCjmYe9XQsmO9OV23khV2nY='"

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        f"style-src 'self' {CHART_LOGO_STYLE_HASH}",
        "img-src 'self' data:",
        "font-src 'self'",
        # 'self' covers ws:/wss: to the same host (CSP Level 3), which the live pages use.
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
POLICY_INLINE_STYLES = POLICY.replace(
    f"style-src 'self' {CHART_LOGO_STYLE_HASH}", "style-src 'self' 'unsafe-inline'"
)
INLINE_STYLE_PATHS = ("/admin/", "/api/docs/")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            inline = request.path_info.startswith(INLINE_STYLE_PATHS)
            response["Content-Security-Policy"] = POLICY_INLINE_STYLES if inline else POLICY
        return response
