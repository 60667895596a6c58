"""One place that maps domain errors to HTTP answers: the API answers 4xx with a message, never a 500 for bad input."""

from __future__ import annotations

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404


class ConflictError(Exception):
    """The request conflicts with the current state (HTTP 409)."""


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, ConflictError):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    return drf_exception_handler(exc, context)
