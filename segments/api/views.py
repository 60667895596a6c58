"""Segments API: segmentation runs (list, one, start one) and segments (one, its customers).

A customer's segment is in the 360° profile (`panels.segment` of /api/v1/customers/{id}/).
"""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils import html
from rest_framework.views import APIView

from django.db import transaction
from django.utils import timezone

from consent.api.params import QueryParameters
from segments.models import Segment, SegmentationRun
from segments.selectors import run_segments, runs_list, segment_members
from segments.services.clustering import segmentation_run_create, segmentation_run_start

RUN_NOT_FOUND = "No segmentation run has this id."
AS_OF_RANGE = "as_of must be a date from 1970 to today"
FIRST_DATE = dt.date(1970, 1, 1)
SEGMENT_NOT_FOUND = "No segment has this id."
PAGE_SIZE = 50
READ = "segments.view_segmentationrun"
START = "segments.add_segmentationrun"


class CanReadSegments(permissions.BasePermission):
    message = "reading segments needs segments.view_segmentationrun (roles marketing, crm, dpo)"

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm(READ))


class CanStartRuns(permissions.BasePermission):
    message = "starting a segmentation needs segments.add_segmentationrun (role marketing)"

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or bool(request.user and request.user.has_perm(START))


class Pagination(PageNumberPagination):
    page_size = PAGE_SIZE


class StrictDateField(serializers.DateField):
    """A date that may be left out, but not sent empty (a form's empty field is not a date, as the schema says)."""

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class PageParameters(QueryParameters):
    page = serializers.IntegerField(min_value=1, required=False)


class SegmentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = [
            "id",
            "run",
            "number",
            "name",
            "description",
            "size",
            "revenue_share",
            "profile",
            "parent",
            "is_noise",
        ]


class RunOutputSerializer(serializers.ModelSerializer):
    segments = serializers.SerializerMethodField()

    class Meta:
        model = SegmentationRun
        fields = [
            "id", "status", "progress", "step", "algorithm", "k_requested", "k", "as_of", "snapshot", "customers",
            "parameters", "metrics", "curve", "stability", "alerts", "is_active", "frozen_at", "classifier_metrics",
            "message", "created_at", "finished_at", "segments",
        ]  # fmt: skip

    @extend_schema_field(SegmentOutputSerializer(many=True))
    def get_segments(self, run: SegmentationRun) -> list[dict]:
        return SegmentOutputSerializer(run_segments(run), many=True).data if run.status == run.Status.SUCCEEDED else []


def _page(request: Request, queryset, serializer, view) -> Response:
    PageParameters(data=request.query_params).is_valid(raise_exception=True)
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


class RunListApi(APIView):
    """Segmentation runs, newest first; POST starts one on the `ml` queue (its status is then followed here)."""

    permission_classes = [permissions.IsAuthenticated, CanReadSegments, CanStartRuns]
    parser_classes = [JSONParser]  # a run is started by a JSON body; a form is refused with 415
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        algorithm = serializers.ChoiceField(choices=SegmentationRun.Algorithm.values, default="kmeans")
        k = serializers.IntegerField(min_value=2, max_value=30, required=False)
        as_of = StrictDateField(required=False)

        def validate_as_of(self, value):
            if not FIRST_DATE <= value <= timezone.localdate():
                raise serializers.ValidationError(AS_OF_RANGE)
            return value

    @extend_schema(parameters=[PageParameters], responses={200: RunOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return _page(request, runs_list().order_by("-created_at", "-id"), RunOutputSerializer, self)

    @extend_schema(
        request=InputSerializer,
        responses={
            202: RunOutputSerializer,
            400: OpenApiResponse(description="An unknown method, a bad k, or a date outside 1970 to today"),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            run = segmentation_run_create(
                algorithm=data.validated_data["algorithm"],
                k=data.validated_data.get("k"),
                as_of=data.validated_data.get("as_of"),
                actor=request.user,
            )
            segmentation_run_start(run)
        run.refresh_from_db()
        return Response(RunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class RunDetailApi(APIView):
    """One run: its status and progress, parameters, metrics, the curve of every k, and its segments."""

    permission_classes = [permissions.IsAuthenticated, CanReadSegments]

    @extend_schema(responses={200: RunOutputSerializer, 404: OpenApiResponse(description=RUN_NOT_FOUND)})
    def get(self, request: Request, run_id: str) -> Response:
        run = SegmentationRun.objects.filter(pk=int(run_id) if run_id.isdigit() else 0).first()
        if run is None:
            raise NotFound(RUN_NOT_FOUND)
        return Response(RunOutputSerializer(run).data)


class SegmentDetailApi(APIView):
    """One segment: its name, description, size, revenue share and the features that set it apart."""

    permission_classes = [permissions.IsAuthenticated, CanReadSegments]

    @extend_schema(responses={200: SegmentOutputSerializer, 404: OpenApiResponse(description=SEGMENT_NOT_FOUND)})
    def get(self, request: Request, segment_id: str) -> Response:
        segment = Segment.objects.filter(pk=int(segment_id) if segment_id.isdigit() else 0).first()
        if segment is None:
            raise NotFound(SEGMENT_NOT_FOUND)
        return Response(SegmentOutputSerializer(segment).data)


class SegmentCustomersApi(APIView):
    """The segment's current customers who may be profiled (paginated), by name."""

    permission_classes = [permissions.IsAuthenticated, CanReadSegments]
    pagination_class = Pagination

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        first_name = serializers.CharField()
        last_name = serializers.CharField()
        city = serializers.CharField()
        postcode = serializers.CharField()

    @extend_schema(
        parameters=[PageParameters],
        responses={200: OutputSerializer(many=True), 404: OpenApiResponse(description=SEGMENT_NOT_FOUND)},
    )
    def get(self, request: Request, segment_id: str) -> Response:
        segment = Segment.objects.filter(pk=int(segment_id) if segment_id.isdigit() else 0).first()
        if segment is None:
            raise NotFound(SEGMENT_NOT_FOUND)
        return _page(request, segment_members(segment), self.OutputSerializer, self)
