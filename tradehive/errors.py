"""Domain errors. Services raise these; ``tradehive.exceptions`` maps them to the API envelope
``{"error": {"code", "message", "fields"}}``. Each carries a stable machine-readable code
(docs/api.md lists them) and the HTTP status it answers with."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code = "error"
    status = 400
    default_message = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        self.fields = fields or {}
        super().__init__(self.message)


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 400
    default_message = "The request contains invalid values."


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = "Not found."


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = "The request conflicts with the current state."


class Forbidden(DomainError):
    code = "permission_denied"
    status = 403
    default_message = "You are not allowed to do this."


class Unauthenticated(DomainError):
    code = "not_authenticated"
    status = 401
    default_message = "Authentication is required."


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
    default_message = "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    status = 503
    default_message = "A dependency is unavailable."
