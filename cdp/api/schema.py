"""OpenAPI schema: a serializer nested in an API class is named after it (MeApi.OutputSerializer → MeOutput), and
every operation documents the refusals the API can answer with, as JSON (cdp.api.exceptions).

Each operation lists what a client may meet besides its own answers: 401 and 403 (authentication and permissions),
404 (an unknown object, page or malformed id), and, when it takes parameters or a body, 400; with a body, 413 (too
large) and 415 (not JSON or a form). A refusal an operation documents without a body gets the error body too.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """A refusal: what went wrong, in words."""

    detail = serializers.CharField()


# DRF's validation errors: each field in error with its messages ({"records": ["..."]}), or {"detail": ...}.
VALIDATION_ERROR = {
    "type": "object",
    "additionalProperties": {},
    "description": "Each field in error with its messages, or `detail`.",
}
GENERIC_REFUSALS = {
    "401": "Not authenticated (no or invalid session or token)",
    "403": "Authenticated, without the permission this operation needs",
    "404": "No such object, page or path",
}
BODY_REFUSALS = {
    "413": "The request body is larger than this endpoint takes",
    "415": "The body is neither JSON nor a form",
}


class AutoSchema(openapi.AutoSchema):
    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        cls = serializer if isinstance(serializer, type) else type(serializer)
        outer = cls.__qualname__.rpartition(".")[0]
        if outer and "<locals>" not in outer:
            return outer.rpartition(".")[2].removesuffix("Api") + name
        return name

    def get_operation(self, path, path_regex, path_prefix, method, registry) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        error = {"application/json": {"schema": self.resolve_serializer(ErrorSerializer, "response").ref}}
        responses = operation.setdefault("responses", {})
        refusals = dict(GENERIC_REFUSALS)
        if operation.get("parameters") or operation.get("requestBody"):
            refusals["400"] = "Invalid parameters or body"
        if operation.get("requestBody"):
            refusals.update(BODY_REFUSALS)
        for code, description in refusals.items():
            responses.setdefault(code, {"description": description})
        for code, response in responses.items():
            if code.startswith("4") and "content" not in response:
                response["content"] = (
                    {"application/json": {"schema": VALIDATION_ERROR}} if code == "400" else dict(error)
                )
        return operation
