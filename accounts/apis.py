"""REST endpoints under /api/v1/auth/ (API.md "Accounts"). Thin: parse, call a service, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.mfa import mfa_enabled
from accounts.models import User
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
