"""Browser tests: the account pages in headless Chromium against the live test server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from django_otp.oath import TOTP
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long browser passphrase 7"
TOTP_STEP_SECONDS = 30


def time_step() -> int:
    return int(time.time()) // TOTP_STEP_SECONDS


def totp_code(secret: str, step: int) -> str:
    """What an authenticator app shows for the base32 ``secret`` in time step ``step``."""
    generator = TOTP(
        base64.b32decode(secret + "=" * (-len(secret) % 8)), step=TOTP_STEP_SECONDS, digits=6
    )
    generator.time = step * TOTP_STEP_SECONDS
    return f"{generator.token():06d}"


def log_in_with_password(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/?next=/accounts/profile/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_sign_up_turn_on_mfa_and_log_in_with_a_totp_code(
    page: Page, live_server: LiveServer, screenshot: Callable[[str], Path]
) -> None:
    base = live_server.url
    # given a visitor who signs up, logs out and logs in with the password
    page.goto(f"{base}/accounts/signup/?next=/accounts/profile/")
    page.get_by_label("Username").fill("browsertrader")
    page.get_by_label("Email").fill("browser@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(f"{base}/accounts/profile/")
    page.get_by_role("button", name="Log out").click()
    log_in_with_password(page, base, "browsertrader")
    expect(page).to_have_url(f"{base}/accounts/profile/")
    expect(page.locator(".who")).to_have_text("browsertrader")

    # when they start the two-factor set-up on the account page
    page.get_by_role("button", name="Set up").click()
    # then the page shows a QR code and the key behind it
    qr = page.locator(".qr svg")
    expect(qr).to_have_count(1)
    assert qr.locator("path").first.get_attribute("d")
    box = qr.bounding_box()
    assert box is not None
    assert box["width"] > 100
    assert box["height"] > 100
    secret = page.get_by_test_id("mfa-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret)
    otpauth_url = page.get_by_test_id("otpauth-url").text_content() or ""
    assert otpauth_url.startswith("otpauth://totp/")
    assert f"secret={secret}" in otpauth_url
    screenshot("mfa-setup")

    # when they confirm with the code their app would show
    confirm_step = time_step()
    page.get_by_label("Authenticator code").fill(totp_code(secret, confirm_step))
    page.get_by_role("button", name="Confirm").click()
    # then two-factor authentication is on
    expect(page.locator(".messages")).to_contain_text("Two-factor authentication is on.")
    screenshot("account")

    # when they log out and log in again
    page.get_by_role("button", name="Log out").click()
    page.goto(f"{base}/accounts/login/?next=/accounts/profile/")
    screenshot("login")
    log_in_with_password(page, base, "browsertrader")
    # then the password alone is not enough: the code step asks for the app's code
    expect(page).to_have_url(re.compile(r"/accounts/login/otp/"))
    expect(page.locator(".who")).to_have_count(0)
    code_field = page.get_by_label("Authenticator code")
    expect(code_field).to_have_attribute("autocomplete", "one-time-code")
    expect(code_field).to_have_attribute("inputmode", "numeric")
    expect(code_field).to_be_focused()
    screenshot("login-otp")

    # when they type the code of a later time step: the confirming code cannot be used again,
    # and the server accepts one step of clock drift either way
    code_field.fill(totp_code(secret, max(time_step(), confirm_step + 1)))
    page.get_by_role("button", name="Verify").click()
    # then they are logged in, and the sign-in is in their security activity
    expect(page).to_have_url(f"{base}/accounts/profile/")
    expect(page.locator(".who")).to_have_text("browsertrader")
    expect(page.get_by_role("cell", name="login.ok").first).to_be_visible()
    screenshot("account-after-mfa-login")


def test_sign_up_form_shows_field_errors(
    page: Page, live_server: LiveServer, screenshot: Callable[[str], Path]
) -> None:
    # given an account that already has the email address
    UserFactory.create(email="taken@example.com")
    # when a visitor signs up with that address and a weak password
    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Email").fill("taken@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    # then the form comes back with an error under each field and keeps what was typed
    email_errors = page.locator("#id_email ~ ul.errorlist").first
    password_errors = page.locator("#id_password ~ ul.errorlist").first
    expect(email_errors).to_contain_text("An account with this email address exists.")
    expect(password_errors).to_contain_text("This password is too short")
    expect(page.get_by_label("Username")).to_have_value("newcomer")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.locator(".who")).to_have_count(0)
    screenshot("signup-errors")


def test_create_an_api_key_sign_with_it_and_revoke_it(
    page: Page, live_server: LiveServer, screenshot: Callable[[str], Path]
) -> None:
    base = live_server.url
    UserFactory.create(username="keytrader", password=PASSWORD)
    log_in_with_password(page, base, "keytrader")
    expect(page).to_have_url(f"{base}/accounts/profile/")

    # when they make a trade key on the account page
    keys = page.locator("#api-keys")
    keys.get_by_label("Label").fill("grid bot")
    keys.get_by_label("Trade").check()
    keys.get_by_role("button", name="Create key").click()
    # then the key and its secret are shown, once
    expect(page.get_by_role("heading", name="API key created")).to_be_visible()
    key = page.locator("#api-key").inner_text().strip()
    secret = page.locator("#api-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9]{64}", key)
    assert re.fullmatch(r"[A-Za-z0-9]{64}", secret)
    screenshot("api-key-created")

    # and a bot can sign requests with them
    def signed_balances() -> int:
        query = f"timestamp={int(time.time() * 1000)}"
        digest = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        answer = httpx.get(
            f"{base}/api/v1/wallet/balances?{query}&signature={digest}",
            headers={"X-MBX-APIKEY": key},
            timeout=10,
        )
        return answer.status_code

    assert signed_balances() == 200

    # when they go back: the list shows the key, never the secret
    page.get_by_role("link", name="Back to your account").click()
    row = page.locator("table.api-keys tbody tr", has_text="grid bot")
    expect(row).to_contain_text("read, trade")
    assert secret not in page.content()
    # and revoking it stops the bot at once
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator("table.api-keys tbody tr", has_text="grid bot")).to_contain_text("revoked")
    assert signed_balances() == 401
