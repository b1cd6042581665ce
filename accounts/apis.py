"""REST endpoints under /api/v1/auth/ (API.md "Accounts"). Thin: parse, call a service, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import api_keys, services
from accounts.mfa import mfa_enabled
from accounts.models import ApiKey, User
from accounts.permissions import NO_KEYS
from accounts.requests import AuthenticatedRequest
from tradehive.api_fields import Timestamp
from tradehive.openapi import error_responses


def _otp_field() -> serializers.CharField:
    return serializers.CharField(
        default=None,
        allow_blank=True,
        allow_null=True,
        max_length=12,
        help_text="Current code of the authenticator",
    )


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    handle = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    is_bot = serializers.BooleanField()
    mfa_enabled = serializers.SerializerMethodField()
    date_joined = Timestamp()
    last_login = Timestamp(allow_null=True)

    def get_mfa_enabled(self, user: User) -> bool:
        return mfa_enabled(user)


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshInput(serializers.Serializer):
    refresh = serializers.CharField(max_length=2000)


class RegisterApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="RegisterInput")
    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=30)
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False)
        handle = serializers.CharField(max_length=30, required=False)

    @extend_schema(
        request=InputSerializer,
        responses={201: UserOutput},
        examples=[
            OpenApiExample(
                "register",
                request_only=True,
                value={
                    "username": "alice",
                    "email": "alice@example.com",
                    "password": "correct horse battery staple",
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data, request=request)
        return Response(UserOutput(user).data, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    """Sign in a REST client: a new access + refresh JWT pair."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="TokenInput")
    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, trim_whitespace=False)
        otp = _otp_field()

    @extend_schema(
        request=InputSerializer,
        responses={
            200: TokenPairOutput,
            **error_responses(
                {
                    401: "`authentication_failed`: wrong username or password; "
                    "`mfa_required`: MFA is on and `otp` is missing or wrong."
                }
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_login(**data.validated_data, request=request)
        return Response(services.token_pair_issue(user=user))


class TokenRefreshApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=RefreshInput,
        responses={
            200: TokenPairOutput,
            **error_responses(
                {
                    401: "`token_not_valid`: the refresh token is invalid, expired, revoked "
                    "or reused."
                }
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.token_refresh(refresh=data.validated_data["refresh"], request=request)
        return Response(pair)


class LogoutApi(APIView):
    # The refresh token itself is the credential: an expired access token must not stop a
    # client from logging out.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=RefreshInput,
        responses={
            205: None,
            **error_responses(
                {401: "`token_not_valid`: the refresh token is invalid, expired or revoked."}
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.token_revoke(refresh=data.validated_data["refresh"], request=request)
        return Response(status=status.HTTP_205_RESET_CONTENT)


class MeApi(APIView):
    api_key_permission = NO_KEYS  # a key cannot change the account it belongs to

    @extend_schema_serializer(component_name="ProfileUpdateInput")
    class UpdateSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254, required=False)
        handle = serializers.CharField(max_length=30, required=False)
        first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
        last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)

    @extend_schema_serializer(component_name="AccountDeleteInput")
    class DeleteSerializer(serializers.Serializer):
        password = serializers.CharField(max_length=128, trim_whitespace=False)
        otp = _otp_field()

    @extend_schema(responses={200: UserOutput})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(UserOutput(request.user).data)

    @extend_schema(request=UpdateSerializer, responses={200: UserOutput})
    def patch(self, request: AuthenticatedRequest) -> Response:
        data = self.UpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_update(user=request.user, **data.validated_data)
        return Response(UserOutput(user).data)

    @extend_schema(request=DeleteSerializer, responses={204: None})
    def delete(self, request: AuthenticatedRequest) -> Response:
        data = self.DeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_delete(user=request.user, **data.validated_data, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordApi(APIView):
    api_key_permission = NO_KEYS  # a key cannot change the account it belongs to

    @extend_schema_serializer(component_name="PasswordChangeInput")
    class InputSerializer(serializers.Serializer):
        old_password = serializers.CharField(max_length=128, trim_whitespace=False)
        new_password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={204: None})
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_change(user=request.user, **data.validated_data, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MfaSetupApi(APIView):
    """The set-up under way (same secret until confirmed), or a new one; ``restart: true``
    replaces the secret."""

    api_key_permission = NO_KEYS

    @extend_schema_serializer(component_name="MfaSetupInput")
    class InputSerializer(serializers.Serializer):
        restart = serializers.BooleanField(
            default=False, help_text="Throw away an unconfirmed set-up and start a new secret"
        )

    @extend_schema_serializer(component_name="MfaEnrollment")
    class OutputSerializer(serializers.Serializer):
        otpauth_url = serializers.CharField()
        qr_svg = serializers.CharField()

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses({409: "`mfa_already_enabled`."})},
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        enrollment = services.mfa_setup(user=request.user, restart=data.validated_data["restart"])
        return Response(self.OutputSerializer(enrollment).data)


class OtpInput(serializers.Serializer):
    otp = serializers.CharField(max_length=12)


class MfaConfirmApi(APIView):
    api_key_permission = NO_KEYS  # a key cannot change the account it belongs to

    @extend_schema(
        request=OtpInput,
        responses={
            204: None,
            **error_responses(
                {
                    400: "`invalid_input`, `otp_invalid`.",
                    409: "`mfa_already_enabled`, or `mfa_not_set_up`: call mfa/setup first.",
                }
            ),
        },
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = OtpInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.mfa_confirm(user=request.user, otp=data.validated_data["otp"], request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MfaDisableApi(APIView):
    api_key_permission = NO_KEYS  # a key cannot change the account it belongs to

    @extend_schema(
        request=OtpInput,
        responses={
            204: None,
            **error_responses({400: "`invalid_input`, `otp_invalid`.", 409: "`mfa_not_enabled`."}),
        },
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = OtpInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.mfa_disable(user=request.user, otp=data.validated_data["otp"], request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- API keys (API.md "API keys and signed requests") ------------------------------------------


class ApiKeyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # "label" is also a Field attribute
    key = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())
    ip_allowlist = serializers.ListField(child=serializers.CharField())
    expires_at = Timestamp(allow_null=True)
    revoked_at = Timestamp(allow_null=True)
    created_at = Timestamp()
    last_used_at = Timestamp(allow_null=True)
    last_used_ip = serializers.CharField(allow_null=True)


class ApiKeysApi(APIView):
    """My API keys. Creating one answers its secret this once; keys cannot manage keys."""

    api_key_permission = NO_KEYS

    @extend_schema_serializer(component_name="ApiKeyCreateInput")
    class InputSerializer(serializers.Serializer):
        label = serializers.CharField(max_length=64)  # type: ignore[assignment]
        permissions = serializers.ListField(
            child=serializers.ChoiceField(choices=list(ApiKey.PERMISSIONS)),
            max_length=3,
            help_text="read is always granted; withdraw needs MFA and an IP allow-list",
        )
        ip_allowlist = serializers.ListField(
            child=serializers.CharField(max_length=43), required=False, default=list, max_length=30
        )
        expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        otp = _otp_field()

    @extend_schema_serializer(component_name="ApiKeyCreated")
    class CreatedSerializer(ApiKeyOutput):
        secret = serializers.CharField(help_text="Shown this once; store it now")

    @extend_schema(responses={200: ApiKeyOutput(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(ApiKeyOutput(api_keys.api_key_list(user=request.user), many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: CreatedSerializer,
            **error_responses(
                {
                    400: "`invalid_input` (label, permissions, ip_allowlist, expires_at).",
                    401: "`mfa_required`: MFA is on and `otp` is missing or wrong.",
                    409: "`mfa_not_enabled` (withdraw keys), `api_key_limit`.",
                }
            ),
        },
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, secret = api_keys.api_key_create(
            user=request.user, **data.validated_data, request=request
        )
        body = {**ApiKeyOutput(key).data, "secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyApi(APIView):
    api_key_permission = NO_KEYS

    @extend_schema(responses={200: ApiKeyOutput, **error_responses({404: "`api_key_not_found`."})})
    def delete(self, request: AuthenticatedRequest, key_id: int) -> Response:
        key = api_keys.api_key_revoke(key_id=key_id, user=request.user, request=request)
        return Response(ApiKeyOutput(key).data)
