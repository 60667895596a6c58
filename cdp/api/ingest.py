"""Batch ingestion API: up to 10,000 records a call, per-record errors, and an idempotency key for safe retries."""

from __future__ import annotations

import io
import re

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django.conf import settings
from django.db import IntegrityError

from cdp.api.exceptions import ConflictError, PayloadTooLarge
from cdp.ingest import types as t
from cdp.ingest.service import import_records

MAX_RECORDS = 10_000
KINDS = {
    "customers": t.KIND_CUSTOMERS,
    "transactions": t.KIND_TRANSACTIONS,
    "events": t.KIND_EVENTS,
    "consents": t.KIND_CONSENTS,
}
TOO_MANY_RECORDS = f"at most {MAX_RECORDS} records per call"
NO_RECORDS = "at least one record per call"
KEY_IN_USE = "a batch with this Idempotency-Key is being imported; retry later"
IDEMPOTENCY_KEY_REUSED = (
    "this Idempotency-Key was already used for another request (other records, source or options): "
    "send a new key for a new batch"
)
IDEMPOTENCY_KEY_MAX_LENGTH = 128
IDEMPOTENCY_KEY_INVALID = (
    f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters (a UUID, for instance)"
)
IDEMPOTENCY_KEY_PATTERN = rf"^[\x21-\x7e]{{1,{IDEMPOTENCY_KEY_MAX_LENGTH}}}$"
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
# Each kind of batch is a right of its own: consents speak for the customers, and only those given that right record
# them (cdp.roles gives the three others to marketing, consents to the DPO).
INGEST_PERMISSIONS = {
    "customers": "cdp.import_customers",
    "transactions": "cdp.import_transactions",
    "events": "cdp.import_events",
    "consents": "consent.import_consentevent",
}


class CanIngest(permissions.BasePermission):
    """The permission of the kind in the URL; an unknown kind is left to the view's 404."""

    message = "importing data needs the permission of its kind"

    def has_permission(self, request, view) -> bool:
        kind = view.kwargs.get("kind", "")
        needed = INGEST_PERMISSIONS.get(kind)
        if needed is None:
            return True
        self.message = f"importing {kind} needs the permission {needed}"
        return bool(request.user and request.user.has_perm(needed))


def read_body(request: Request, *, limit: int) -> None:
    """Read the body under this endpoint's own limit, instead of DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), which a batch
    of MAX_RECORDS records outgrows; a larger body is refused with 413 before it is read whole.

    The body is kept where Django keeps what it reads (`HttpRequest.body`), so DRF's parsers read it from there.
    """
    django_request = request._request
    if hasattr(django_request, "_body"):
        return
    try:
        announced = int(django_request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        announced = 0
    if announced > limit:
        raise PayloadTooLarge(limit)
    body = django_request.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(limit)
    django_request._body = body
    django_request._stream = io.BytesIO(body)


class IngestApi(APIView):
    """Import a batch of customers, receipt lines (transactions), events or consents, with the CSV contracts' fields."""

    permission_classes = [permissions.IsAuthenticated, CanIngest]

    class InputSerializer(serializers.Serializer):
        source = serializers.SlugField(max_length=50)
        # min_length and max_length (not allow_empty) so that the schema says it too: minItems 1, maxItems 10000.
        records = serializers.ListField(
            child=serializers.DictField(),
            min_length=1,
            max_length=MAX_RECORDS,
            error_messages={"min_length": NO_RECORDS, "max_length": TOO_MANY_RECORDS},
        )
        decimal_comma = serializers.BooleanField(default=False)
        date_format = serializers.CharField(required=False, allow_blank=True, default="")

    class ErrorSerializer(serializers.Serializer):
        index = serializers.IntegerField(help_text="Position of the record in `records`, from 0")
        reasons = serializers.ListField(child=serializers.CharField())

    class OutputSerializer(serializers.Serializer):
        batch_id = serializers.IntegerField()
        kind = serializers.CharField()
        source = serializers.CharField()
        read = serializers.IntegerField()
        created = serializers.IntegerField()
        updated = serializers.IntegerField()
        unchanged = serializers.IntegerField()
        rejected = serializers.IntegerField()
        replayed = serializers.BooleanField(help_text="True when this Idempotency-Key was already imported")
        errors = serializers.ListField(child=serializers.DictField())

    def initial(self, request: Request, *args, **kwargs) -> None:
        # Before authentication: with a session, DRF's CSRF check parses the body, under Django's 2.5 MB limit.
        read_body(request, limit=settings.INGEST_MAX_REQUEST_BYTES)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            404: OpenApiResponse(description="Unknown kind"),
            409: OpenApiResponse(description=KEY_IN_USE),
            422: OpenApiResponse(description=IDEMPOTENCY_KEY_REUSED),
        },
        parameters=[
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=list(KINDS)),
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description=(
                    "Retrying with the same key and body replays the first answer; the same key with another body is "
                    "refused (422). Keys are the caller's own, per kind."
                ),
                pattern=IDEMPOTENCY_KEY_PATTERN,
            ),
        ],
    )
    def post(self, request: Request, kind: str) -> Response:
        if kind not in KINDS:
            return Response({"detail": f"unknown kind {kind!r}; one of {', '.join(KINDS)}"}, status=404)
        key = request.headers.get("Idempotency-Key")
        if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
            raise ValidationError({"detail": IDEMPOTENCY_KEY_INVALID})
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        options = t.ImportOptions(decimal_comma=data["decimal_comma"], date_format=data["date_format"] or None)
        try:
            result, replayed = import_records(
                kind=KINDS[kind],
                records=data["records"],
                source_key=data["source"],
                options=options,
                idempotency_key=key,
                actor=request.user,
            )
        except t.FileUnusable as exc:
            raise ValidationError({"records": [str(exc)]}) from exc
        except t.IdempotencyKeyReused:
            return Response({"detail": IDEMPOTENCY_KEY_REUSED}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        except (IntegrityError, t.BatchInProgress) as exc:
            raise ConflictError(KEY_IN_USE) from exc
        body = {
            "batch_id": result.batch_id,
            "kind": kind,
            "source": result.source,
            "read": result.read,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "rejected": result.rejected,
            "replayed": replayed,
            "errors": [{"index": e.row, "reasons": list(e.reasons)} for e in result.errors],
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_200_OK)
