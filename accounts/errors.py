"""Domain errors of accounts (codes are listed in docs/api.md). ``MfaRequired`` is in ``mfa``."""

from __future__ import annotations

from tradehive.errors import Conflict, InvalidInput, Unauthenticated


class AuthenticationFailed(Unauthenticated):
    code = "authentication_failed"
    default_message = "Wrong username or password."


class TokenNotValid(Unauthenticated):
    code = "token_not_valid"
    default_message = "The token is invalid, expired or revoked."


class LoginExpired(Unauthenticated):
    """The one-time code step of a browser sign-in has no live password step: it never happened,
    it timed out, or its code attempts are used up. Web pages only; never an API answer."""

    code = "login_expired"
    default_message = "Your sign-in timed out; enter your password again."


class OtpInvalid(InvalidInput):
    code = "otp_invalid"
    default_message = "The one-time code is not valid."


class MfaAlreadyEnabled(Conflict):
    code = "mfa_already_enabled"
    default_message = "Two-factor authentication is already on; disable it first."


class MfaNotEnabled(Conflict):
    code = "mfa_not_enabled"
    default_message = "Two-factor authentication is not on."


class MfaNotSetUp(Conflict):
    code = "mfa_not_set_up"
    default_message = "Start the two-factor set-up first (mfa/setup)."
