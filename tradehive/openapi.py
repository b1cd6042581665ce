"""The OpenAPI schema's kernel rules (drf-spectacular's ``DEFAULT_SCHEMA_CLASS``).

- Every operation documents its error answers with the one envelope of API.md, the ``Error``
  component: 400 where the operation takes parameters or a body, 401 where it needs
  authentication, 403 for authenticated writes (CSRF, permissions), 404 where the path names an
  object, 413/415 where it takes a body, 429 and 503 everywhere (rate limits and a dependency
  down). An operation adds its own (409, 423, ...) with ``error_responses`` in ``extend_schema``.
- A ``GET`` of a view with a ``pagination_class`` answers a page of its paginator
  (``tradehive.pagination.Cursor``: ``{"results": [...], "next": ...}``) and takes its
  parameters; the view's other methods are not paginated (``DELETE /orders`` answers a list).
- A serializer class nested in a view (``DepositListCreateApi.InputSerializer``) is named after
  its view (``DepositListCreateInput``), so two views' ``InputSerializer`` never share a
  component; ``extend_schema_serializer(component_name=...)`` still names one explicitly.
- A ``DELETE`` that declares a request body documents it."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import Direction, OpenApiResponse

ERROR_COMPONENT = "Error"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The envelope of every error answer (docs/api.md lists the codes).",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable machine-readable code.",
                    "example": "invalid_input",
                },
                "message": {"type": "string", "description": "Human-readable explanation."},
                "fields": {
                    "type": "object",
                    "description": "Messages per input field at fault (``non_field_errors`` "
                    "for the body as a whole).",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}

STANDARD_ERRORS: dict[int, str] = {
    400: "Invalid input (`invalid_input`, `malformed_request` or a more specific code); "
    "`fields` names the values at fault. Nothing was changed.",
    401: "Not authenticated, or the credentials or token are not valid "
    "(`not_authenticated`, `authentication_failed`, `token_not_valid`).",
    403: "Not allowed (`permission_denied`, a missing CSRF token with a session, or a more "
    "specific code).",
    404: "No such object (`not_found` or a more specific code), also for another user's.",
    413: "The request body is larger than the server accepts.",
    415: "The request body is not JSON (`unsupported_media_type`).",
    429: "Rate limited (`rate_limited`); `Retry-After` says in how many seconds to retry.",
    503: "A dependency (database, Redis, the matching engine) is unavailable "
    "(`service_unavailable`); retry later.",
}

_RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 1},
        "description": "Seconds to wait before retrying.",
    },
}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def error_responses(errors: dict[int, str]) -> dict[int, OpenApiResponse]:
    """An operation's own error answers, for ``extend_schema(responses={..., **here})``:
    ``error_responses({409: "duplicate_client_order_id: ..."})``. They replace the standard
    description of the same status."""
    return {
        status: OpenApiResponse(response=ERROR_REF, description=description)
        for status, description in errors.items()
    }


def _error_response(status: int, description: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if status == 429:
        response["headers"] = _RETRY_AFTER
    return response


def standard_error_statuses(*, method: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses any operation of this shape can answer (see the module docstring)."""
    authenticated = {} not in operation.get("security", [{}])
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    statuses = []
    if parameters or has_body:
        statuses.append(400)
    if authenticated:
        statuses.append(401)
        if method not in _SAFE_METHODS:
            statuses.append(403)
    if any(parameter["in"] == "path" for parameter in parameters):
        statuses.append(404)
    if has_body:
        statuses += [413, 415]
    return [*statuses, 429, 503]


class AutoSchema(openapi.AutoSchema):
    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        registry.register_on_missing(
            ResolvedComponent(
                name=ERROR_COMPONENT,
                type=ResolvedComponent.SCHEMA,
                schema=ERROR_SCHEMA,
                object=ERROR_COMPONENT,
            )
        )
        responses: dict[str, Any] = operation["responses"]
        for status in standard_error_statuses(method=self.method, operation=operation):
            responses.setdefault(str(status), _error_response(status, STANDARD_ERRORS[status]))
        for code, response in responses.items():
            if code == "429" and "headers" not in response:
                response["headers"] = _RETRY_AFTER
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def get_request_serializer(self) -> Any:
        if self.method == "DELETE":
            return None  # a DELETE has no body unless ``extend_schema(request=...)`` says so
        return super().get_request_serializer()

    def _get_request_body(self, direction: Direction = "request") -> Any:
        # drf-spectacular documents bodies of PUT, PATCH and POST only; a DELETE that declares
        # one (``DELETE /auth/me`` takes the password) has it documented too.
        if self.method != "DELETE" or self.get_request_serializer() is None:
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

    def _get_paginator(self) -> Any:
        if self.method != "GET":
            return None
        return super()._get_paginator()

    def get_serializer_name(self, serializer: Any, direction: Direction) -> str:
        outer, _, inner = type(serializer).__qualname__.rpartition(".")
        if not outer:
            return super().get_serializer_name(serializer, direction)
        view = outer.rpartition(".")[2].removesuffix("Api").removesuffix("View")
        return view + inner.removesuffix("Serializer")
