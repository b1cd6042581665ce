"""Query strings read strictly: each parameter once, validated by a serializer whose fields see
the raw text. DRF reads a ``QueryDict`` like an HTML form, where an empty value of an optional
field counts as "not given" (``?status=`` would list everything); here an empty value is a value,
and a wrong one is a 400 ``invalid_input`` naming the parameter."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError


def single_query_value(request: Any, name: str) -> str | None:
    """The one value of query parameter ``name``, or None; given twice is a 400."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ValidationError({name: ["Given more than once."]})
    return values[0] if values else None


def query_validate(serializer_class: type[serializers.Serializer], request: Any) -> dict[str, Any]:
    """``request``'s query parameters validated by ``serializer_class`` (parameters it does not
    declare are left alone: pagination and request signing read their own)."""
    declared = serializer_class().fields
    params: dict[str, str] = {}
    for name, values in request.query_params.lists():
        if name in declared and len(values) > 1:
            raise ValidationError({name: ["Given more than once."]})
        params[name] = values[-1]
    query = serializer_class(data=params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)
