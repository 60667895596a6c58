"""Batch ingestion API: up to 10,000 records a call, per-record errors, and an idempotency key for safe retries."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django.db import IntegrityError

from cdp.api.exceptions import ConflictError
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
KEY_IN_USE = "a batch with this Idempotency-Key is being imported; retry later"


class CanIngest(permissions.BasePermission):
    message = "importing data needs the permission cdp.add_importbatch (role marketing)"

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm("cdp.add_importbatch"))


class IngestApi(APIView):
    """Import a batch of customers, receipt lines (transactions), events or consents, with the CSV contracts' fields."""

    permission_classes = [permissions.IsAuthenticated, CanIngest]

    class InputSerializer(serializers.Serializer):
        source = serializers.SlugField(max_length=50)
        records = serializers.ListField(child=serializers.DictField(), allow_empty=False)
        decimal_comma = serializers.BooleanField(default=False)
        date_format = serializers.CharField(required=False, allow_blank=True, default="")

        def validate_records(self, records: list) -> list:
            if len(records) > MAX_RECORDS:
                raise ValidationError(TOO_MANY_RECORDS)
            return records

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

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer},
        parameters=[
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=list(KINDS)),
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Retrying with the same key changes nothing",
            ),
        ],
    )
    def post(self, request: Request, kind: str) -> Response:
        if kind not in KINDS:
            return Response({"detail": f"unknown kind {kind!r}; one of {', '.join(KINDS)}"}, status=404)
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
                idempotency_key=request.headers.get("Idempotency-Key") or None,
                actor=request.user,
            )
        except t.FileUnusable as exc:
            raise ValidationError({"records": [str(exc)]}) from exc
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
