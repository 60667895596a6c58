"""Scores API: model versions with their metrics, one customer's scores, and customers by score (paginated).

Every figure names the model version that made it; customers who may not be profiled are never listed.
"""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp.models import Customer
from consent.api.params import QueryParameters
from segments.models import ModelVersion
from segments.selectors import BANDS, customers_with_score, latest_scores, model_versions_list

READ = "segments.view_modelversion"
CUSTOMER_NOT_FOUND = "No customer has this id."
VERSION_NOT_FOUND = "No model version has this id."
PAGE_SIZE = 100


class CanReadScores(permissions.BasePermission):
    message = "reading scores needs segments.view_modelversion (roles marketing, crm, dpo)"

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm(READ))


class Pagination(PageNumberPagination):
    page_size = PAGE_SIZE


class PageParameters(QueryParameters):
    page = serializers.IntegerField(min_value=1, required=False)


class ModelVersionOutputSerializer(serializers.ModelSerializer):
    name = serializers.CharField()

    class Meta:
        model = ModelVersion
        fields = [
            "id", "name", "kind", "number", "status", "message", "algorithm", "as_of", "horizon_days",
            "training_start", "training_end", "customers", "scored", "snapshot", "parameters", "metrics",
            "library_versions", "artefact_sha256", "is_active", "created_at", "finished_at",
        ]  # fmt: skip


class CustomerScoresOutputSerializer(serializers.Serializer):
    customer_id = serializers.UUIDField()
    scores = serializers.DictField(
        help_text="churn_probability, churn_band, churn_reasons, purchase_probability(_<category>), "
        "discount_purchase_probability, discount_share, offered_purchase_probability, "
        "not_offered_purchase_probability, offer_uplift (when past campaigns taught them), expected_purchases, "
        "p_alive, expected_value, historic_value, next_order_date, model_versions"
    )


def _json_scores(scores: dict) -> dict:
    out = dict(scores)
    if out.get("next_order_date") is not None:
        out["next_order_date"] = out["next_order_date"].isoformat()
    return out


class ModelVersionListApi(APIView):
    """Every model version, newest first: kind, status, parameters (for CLV r, alpha, a, b, p, q, gamma and the time
    unit), metrics with their baselines, training window, customers, library versions."""

    permission_classes = [permissions.IsAuthenticated, CanReadScores]
    pagination_class = Pagination

    class FilterParameters(PageParameters):
        kind = serializers.ChoiceField(choices=ModelVersion.Kind.values, required=False)

    @extend_schema(parameters=[FilterParameters], responses={200: ModelVersionOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        params = self.FilterParameters(data=request.query_params)
        params.is_valid(raise_exception=True)
        versions = model_versions_list()
        if params.validated_data.get("kind"):
            versions = versions.filter(kind=params.validated_data["kind"])
        paginator = Pagination()
        page = paginator.paginate_queryset(versions, request, view=self)
        return paginator.get_paginated_response(ModelVersionOutputSerializer(page, many=True).data)


class ModelVersionDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated, CanReadScores]

    @extend_schema(responses={200: ModelVersionOutputSerializer, 404: OpenApiResponse(description=VERSION_NOT_FOUND)})
    def get(self, request: Request, version_id: str) -> Response:
        version = model_versions_list().filter(pk=int(version_id) if version_id.isdigit() else 0).first()
        if version is None:
            raise NotFound(VERSION_NOT_FOUND)
        return Response(ModelVersionOutputSerializer(version).data)


class CustomerScoresApi(APIView):
    """One customer's scores from the active model versions (empty when none scored them), with the versions."""

    permission_classes = [permissions.IsAuthenticated, CanReadScores]

    @extend_schema(
        responses={200: CustomerScoresOutputSerializer, 404: OpenApiResponse(description=CUSTOMER_NOT_FOUND)}
    )
    def get(self, request: Request, customer_id: str) -> Response:
        try:
            key = uuid.UUID(customer_id)
        except ValueError as exc:
            raise NotFound(CUSTOMER_NOT_FOUND) from exc
        if not Customer.objects.filter(pk=key).exists():
            raise NotFound(CUSTOMER_NOT_FOUND)
        scores = latest_scores([key]).get(key, {})
        return Response({"customer_id": str(key), "scores": _json_scores(scores)})


class ScoresListApi(APIView):
    """Customers by score, paginated: `field` (churn_probability, churn_band, purchase_probability,
    purchase_probability_<category>, offer_uplift, expected_purchases, p_alive, expected_value...) with `min` and
    `max`, or `band` for churn_band; each customer with all their active scores."""

    permission_classes = [permissions.IsAuthenticated, CanReadScores]
    pagination_class = Pagination

    class FilterParameters(PageParameters):
        field = serializers.CharField(max_length=120, required=False)
        min = serializers.FloatField(required=False)
        max = serializers.FloatField(required=False)
        band = serializers.ChoiceField(choices=BANDS, required=False)

    @extend_schema(
        parameters=[FilterParameters],
        responses={
            200: CustomerScoresOutputSerializer(many=True),
            400: OpenApiResponse(description="An unknown field, a band on a numeric field..."),
        },
    )
    def get(self, request: Request) -> Response:
        params = self.FilterParameters(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        try:
            ids = customers_with_score(
                data.get("field", "churn_band" if "band" in data else "churn_probability"),
                data.get("min"),
                data.get("max"),
                data.get("band"),
            )
        except ValueError as exc:
            raise ValidationError({"field": [str(exc)]}) from exc
        paginator = Pagination()
        page = paginator.paginate_queryset(ids, request, view=self)
        scores = latest_scores(page)
        rows = [{"customer_id": str(c), "scores": _json_scores(scores.get(c, {}))} for c in page]
        return paginator.get_paginated_response(rows)
