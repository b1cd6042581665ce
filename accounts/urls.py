"""Web pages of accounts (templates, session auth)."""

from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.login, name="login"),
    path("login/otp/", views.login_otp, name="login_otp"),
    path("logout/", views.logout, name="logout"),
    path("profile/", views.profile, name="profile"),
    path("password/", views.password_change, name="password"),
    path("mfa/setup/", views.mfa_setup, name="mfa_setup"),
    path("mfa/confirm/", views.mfa_confirm, name="mfa_confirm"),
    path("mfa/disable/", views.mfa_disable, name="mfa_disable"),
    path("delete/", views.account_delete, name="delete"),
    path("api-keys/", views.api_key_create, name="api_key_create"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
