"""REST endpoints under /api/v1/auth/ (API.md "Accounts")."""

from django.urls import path

from accounts import apis

urlpatterns = [
    path("register", apis.RegisterApi.as_view(), name="api-register"),
    path("token", apis.TokenApi.as_view(), name="api-token"),
    path("token/refresh", apis.TokenRefreshApi.as_view(), name="api-token-refresh"),
    path("logout", apis.LogoutApi.as_view(), name="api-logout"),
    path("me", apis.MeApi.as_view(), name="api-me"),
    path("password", apis.PasswordApi.as_view(), name="api-password"),
    path("mfa/setup", apis.MfaSetupApi.as_view(), name="api-mfa-setup"),
    path("mfa/confirm", apis.MfaConfirmApi.as_view(), name="api-mfa-confirm"),
    path("mfa/disable", apis.MfaDisableApi.as_view(), name="api-mfa-disable"),
]
