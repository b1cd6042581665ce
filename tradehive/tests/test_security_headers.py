"""Content-Security-Policy on pages and the API, templates that satisfy it, and the favicon."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from django.test import Client

from accounts.models import User
from tradehive.security_headers import CHART_LOGO_STYLE_HASH
from tradehive.testing.processes import ROOT


def _policy(answer) -> dict[str, str]:
    parts = answer["Content-Security-Policy"].split(";")
    return dict(part.strip().split(" ", 1) for part in parts)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/api/v1/markets", "/no-such-page/"])
def test_pages_and_the_api_carry_a_strict_policy(path: str) -> None:
    # when
    answer = Client().get(path)
    # then scripts and styles come from the site only, and nothing may frame it
    policy = _policy(answer)
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == f"'self' {CHART_LOGO_STYLE_HASH}"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"


@pytest.mark.django_db
def test_admin_and_swagger_allow_inline_styles_but_no_inline_scripts() -> None:
    # given a staff user
    admin = User.objects.create_superuser(
        "root", "root@example.com", "a long admin password", handle="root"
    )
    client = Client()
    client.force_login(admin)
    # when
    answers = [client.get("/admin/"), client.get("/api/docs/")]
    # then
    for answer in answers:
        assert answer.status_code == 200
        policy = _policy(answer)
        assert policy["style-src"] == "'self' 'unsafe-inline'"
        assert policy["script-src"] == "'self'"
    # and Swagger UI's page has no inline script to be refused
    docs = answers[1].content.decode()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", docs) == []


def test_the_sites_templates_have_no_inline_scripts_or_styles() -> None:
    # given every template of the site
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        # then none has an inline script, a <style> element, a style attribute or an on* handler
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"<style\b", r"\sstyle=", r"\son[a-z]+="):
            offenders += [f"{template.relative_to(ROOT)}: {m}" for m in re.findall(pattern, text)]
    assert offenders == []


@pytest.mark.django_db
def test_the_favicon_answers_and_every_page_links_it() -> None:
    # when
    icon = Client().get("/favicon.ico")
    page = Client().get("/accounts/login/")
    # then
    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/x-icon"
    assert icon.content == (ROOT / "static" / "favicon.ico").read_bytes()
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert '<link rel="icon" href="/static/favicon.ico"' in page.content.decode()


def test_the_allowed_chart_stylesheet_hash_is_the_vendored_charts_own() -> None:
    # given the stylesheet lightweight-charts injects for its attribution logo
    source = (
        ROOT
        / "static"
        / "vendor"
        / "lightweight-charts"
        / "lightweight-charts.standalone.production.js"
    ).read_text()
    found = re.search(r'\.innerText="(a#tv-attr-logo(?:[^"\\]|\\.)*)"', source)
    assert found, "the chart library no longer injects its logo stylesheet this way"
    css = found.group(1).encode().decode("unicode_escape")
    # when hashed as CSP does
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    # then it is the hash the policy allows
    assert f"'sha256-{digest}'" == CHART_LOGO_STYLE_HASH
