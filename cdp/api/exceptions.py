"""One place that maps domain errors to HTTP answers: the API answers 4xx with a message, never a 500 for bad input.

DRF's views answer through `exception_handler`; what happens before a view is chosen (an unknown path, an id that
is not a number, a body Django refuses) reaches Django's error handlers, which `api_error_response` makes answer in
JSON too for the API's paths. Every refusal of the API is JSON.
"""

from __future__ import annotations

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation, ValidationError
from django.http import Http404, HttpRequest, JsonResponse

API_PREFIX = "/api/"
BODY_TOO_LARGE = "the request body is too large: this endpoint takes at most {limit} bytes"
NOT_FOUND = "Not found: no such endpoint or object (ids are numbers or UUIDs, as the schema says)."
BAD_REQUEST = "Bad request."
FORBIDDEN = "You do not have permission to perform this action."
SERVER_ERROR = "Server error: it is logged, and nothing of the request was kept."
ERROR_MESSAGES = {400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 500: SERVER_ERROR}


class ConflictError(Exception):
    """The request conflicts with the current state (HTTP 409)."""


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self, limit: int):
        super().__init__(BODY_TOO_LARGE.format(limit=limit))


def default_body_limit() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(default_body_limit())
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ValidationError({"detail": str(exc) or BAD_REQUEST})
    elif isinstance(exc, ValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, ConflictError):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    return drf_exception_handler(exc, context)


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def api_error_response(request: HttpRequest, status_code: int, exception: Exception | None = None) -> JsonResponse:
    """Django's error handlers, for the API's paths: the same answer as DRF's, `{"detail": ...}`."""
    if isinstance(exception, RequestDataTooBig):
        body = {"detail": BODY_TOO_LARGE.format(limit=default_body_limit())}
        return JsonResponse(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    return JsonResponse({"detail": ERROR_MESSAGES[status_code]}, status=status_code)
