"""REST endpoints under /api/v1/api-keys (API.md "API keys and signed requests")."""

from django.urls import path

from accounts import apis

urlpatterns = [
    path("api-keys", apis.ApiKeysApi.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>", apis.ApiKeyApi.as_view(), name="api-key"),
]
