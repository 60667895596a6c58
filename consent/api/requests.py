"""Data-subject requests API: create, read the status and trail, produce the export, download it once by link."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse
from django.urls import reverse

from consent.api.params import QueryParameters
from consent.models import DataSubjectRequest, RequestChannel, RequestKind
from consent.registry import subject_model
from consent.services.export import (
    EXPORT_GONE,
    LINK_EXPIRED,
    LINK_UNKNOWN,
    subject_export_claim,
    subject_export_discard,
    subject_export_link,
)
from consent.services.request_steps import EXPORT, dsr_step_require
from consent.services.requests import dsr_create
from consent.tasks import subject_export_task

REQUEST_NOT_FOUND = "No data-subject request has this id."
CUSTOMER_NOT_FOUND = "No customer has this id."
NO_EXPORT_READY = "No export is ready to download: produce one first."
NO_EXPORT_FOR_KIND = "only access and portability requests have an export"


def _perm(codename: str, what: str) -> type[permissions.BasePermission]:
    class HasPermission(permissions.BasePermission):
        message = f"{what} needs consent.{codename} (role dpo)"

        def has_permission(self, request, view) -> bool:
            return bool(request.user and request.user.has_perm(f"consent.{codename}"))

    return HasPermission


CanAdd = _perm("add_datasubjectrequest", "creating a data-subject request")
CanView = _perm("view_datasubjectrequest", "reading data-subject requests")
CanChange = _perm("change_datasubjectrequest", "handling a data-subject request")


class EventSerializer(serializers.Serializer):
    action = serializers.CharField()
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_name")
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = serializers.CharField()


class RequestOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    received_via = serializers.CharField()
    received_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    original_due_at = serializers.DateTimeField()
    extension_reason = serializers.CharField()
    overdue = serializers.BooleanField(source="is_overdue")
    customer = serializers.UUIDField(source="customer_id", allow_null=True)
    identity_verified = serializers.SerializerMethodField()
    closed_at = serializers.DateTimeField(allow_null=True)
    events = EventSerializer(many=True)

    def get_identity_verified(self, obj: DataSubjectRequest) -> bool:
        return obj.identity_verified_at is not None


def _get(pk: int) -> DataSubjectRequest:
    found = DataSubjectRequest.objects.prefetch_related("events").filter(pk=pk).first()
    if found is None:
        raise NotFound(REQUEST_NOT_FOUND)
    return found


class RequestListApi(APIView):
    """Open requests by deadline (the most urgent first), or create one (received through the API by default)."""

    def get_permissions(self):
        extra = CanAdd if self.request.method == "POST" else CanView
        return [permissions.IsAuthenticated(), extra()]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=RequestKind.choices)
        received_via = serializers.ChoiceField(choices=RequestChannel.choices, default=RequestChannel.API)
        received_at = serializers.DateTimeField(required=False)
        customer = serializers.UUIDField(required=False, allow_null=True)
        subject_reference = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
        details = serializers.CharField(required=False, allow_blank=True, default="")
        objection_scope = serializers.CharField(required=False, allow_blank=True, max_length=20, default="")

    class FilterSerializer(QueryParameters):
        status = serializers.ChoiceField(choices=["open", "overdue", "all"], default="open")
        page = serializers.IntegerField(min_value=1, required=False)

    pagination_class = PageNumberPagination

    @extend_schema(parameters=[FilterSerializer], responses=RequestOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data["status"]
        found = DataSubjectRequest.objects.prefetch_related("events").order_by("due_at", "pk")
        found = found.open() if wanted == "open" else found.overdue() if wanted == "overdue" else found
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(found, request, view=self)
        return paginator.get_paginated_response(RequestOutputSerializer(page, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: RequestOutputSerializer, 400: OpenApiResponse(description="Invalid request")},
    )
    def post(self, request: Request) -> Response:
        given = self.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        customer = None
        if data.pop("customer", None) is not None:
            customer = subject_model()._default_manager.filter(pk=given.validated_data["customer"]).first()
            if customer is None:
                raise ApiValidationError({"customer": [CUSTOMER_NOT_FOUND]})
        created = dsr_create(customer=customer, actor=request.user, **data)
        return Response(RequestOutputSerializer(_get(created.pk)).data, status=status.HTTP_201_CREATED)


class RequestDetailApi(APIView):
    """A request's status, deadline and audit trail."""

    permission_classes = [permissions.IsAuthenticated, CanView]

    @extend_schema(responses={200: RequestOutputSerializer, 404: OpenApiResponse(description="Unknown request")})
    def get(self, request: Request, pk: int) -> Response:
        return Response(RequestOutputSerializer(_get(pk)).data)


class RequestExportApi(APIView):
    """Produce the portability archive of a verified request's subject (a task); the link comes from export-link."""

    permission_classes = [permissions.IsAuthenticated, CanChange]

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(description="Export queued"),
            400: OpenApiResponse(description=f"{NO_EXPORT_FOR_KIND}, or the request is not verified or closed"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        found = _get(pk)
        dsr_step_require(found, EXPORT)
        user_id = request.user.pk
        transaction.on_commit(lambda: subject_export_task.delay(found.pk, user_id))
        return Response({"detail": "export queued"}, status=status.HTTP_202_ACCEPTED)


class RequestExportLinkApi(APIView):
    """A one-time, expiring download link for the request's latest export not downloaded yet."""

    permission_classes = [permissions.IsAuthenticated, CanChange]

    class OutputSerializer(serializers.Serializer):
        url = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=None, responses={200: OutputSerializer, 409: OpenApiResponse(description=NO_EXPORT_READY)})
    def post(self, request: Request, pk: int) -> Response:
        found = _get(pk)
        export = found.exports.filter(downloaded_at__isnull=True).exclude(file="").order_by("-created_at").first()
        if export is None:
            return Response({"detail": NO_EXPORT_READY}, status=status.HTTP_409_CONFLICT)
        token = subject_export_link(export=export, actor=request.user)
        export.refresh_from_db(fields=["expires_at"])
        url = reverse("consent-api:subject-export-download", args=[token])
        return Response(self.OutputSerializer({"url": url, "expires_at": export.expires_at}).data)


class ExportDownloadApi(APIView):
    """The archive, once: the file is removed from the server as it is handed over."""

    permission_classes = [permissions.IsAuthenticated, CanChange]

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description=LINK_UNKNOWN),
            410: OpenApiResponse(description=f"{LINK_EXPIRED}, or {EXPORT_GONE}"),
        }
    )
    def get(self, request: Request, token: str) -> FileResponse:
        try:
            path = subject_export_claim(token=token, actor=request.user)
        except ValidationError as exc:
            if LINK_UNKNOWN in exc.messages:
                raise NotFound(LINK_UNKNOWN) from exc
            return Response({"detail": "; ".join(exc.messages)}, status=status.HTTP_410_GONE)
        handle = path.open("rb")
        subject_export_discard(path=path)
        return FileResponse(handle, as_attachment=True, filename="personal-data-export.zip")
