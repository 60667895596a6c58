"""Customers API: the list and its search (GET /api/v1/customers/?search=) and the 360° profile as JSON
(GET /api/v1/customers/{id}/)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django.urls import reverse

from cdp.api.schema import ErrorSerializer
from cdp.money import from_minor
from cdp.profile.panels import panels_api
from cdp.profile.selectors import (
    MAX_QUERY_LENGTH,
    MIN_QUERY_LENGTH,
    PROFILE_PERMISSIONS,
    CustomerMerged,
    CustomerNotFound,
    SearchQueryError,
    customer_list,
    customer_profile,
    customer_search,
    customer_spend_by_month,
    customer_timeline,
)
from consent.api.params import QueryParameters

CUSTOMER_NOT_FOUND = "No customer has this id."
CUSTOMER_MERGED = "This customer was merged into {survivor_id}."
SEARCH_AND_Q_DIFFER = "q is an alias of search: give one of them"
SEARCH_LIMIT = 200  # the best matches; pages of PAGE_SIZE
PAGE_SIZE = 20
TIMELINE_PER_PAGE = 20


class CanReadProfiles(permissions.BasePermission):
    message = "reading customer profiles needs cdp.view_customer and cdp.view_sourcerecord (roles crm, marketing, dpo)"

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perms(PROFILE_PERMISSIONS))


class CustomerListApi(APIView):
    """Active customers, a page at a time (by name), narrowed by source or last update; with `search` (DRF's
    SearchFilter name; `q` is its alias) the best matches first, by name (typo-tolerant), e-mail, phone, external id
    or loyalty card."""

    permission_classes = [permissions.IsAuthenticated, CanReadProfiles]

    class Pagination(PageNumberPagination):
        page_size = PAGE_SIZE

    class FilterSerializer(QueryParameters):
        search = serializers.CharField(
            min_length=MIN_QUERY_LENGTH,
            max_length=MAX_QUERY_LENGTH,
            required=False,
            help_text="Name, e-mail, phone, external id or loyalty card; best matches first",
        )
        q = serializers.CharField(
            min_length=MIN_QUERY_LENGTH, max_length=MAX_QUERY_LENGTH, required=False, help_text="Alias of search"
        )
        source = serializers.SlugField(
            max_length=50, required=False, help_text="Only customers with a record from this source (its key)"
        )
        updated_since = serializers.DateTimeField(
            required=False, help_text="Only customers whose golden record changed at or after this time"
        )
        page = serializers.IntegerField(min_value=1, required=False)

        def validate(self, data: dict) -> dict:
            if "search" in data and "q" in data and data["search"] != data["q"]:
                raise ValidationError({"q": [SEARCH_AND_Q_DIFFER]})
            return data

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        name = serializers.CharField()
        first_name = serializers.CharField()
        last_name = serializers.CharField()
        email = serializers.CharField()
        phone = serializers.CharField()
        postcode = serializers.CharField()
        city = serializers.CharField()
        matched_on = serializers.ChoiceField(
            choices=["name", "email", "phone", "external_id"], allow_null=True, help_text="null without a search"
        )
        score = serializers.FloatField(
            allow_null=True,
            help_text="0 for an exact match; higher is further (edits in the name); null without a search",
        )

    pagination_class = Pagination  # read by the schema generator, which then describes the page around the results

    @extend_schema(
        parameters=[FilterSerializer],
        responses={
            200: OutputSerializer(many=True),
            400: OpenApiResponse(description="A search too short, too long or malformed, or a bad filter"),
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        parameter = "search" if "search" in data else "q"
        narrowed = {"source_key": data.get("source"), "updated_since": data.get("updated_since")}
        if parameter in data:
            try:
                found = customer_search(query=data[parameter], limit=SEARCH_LIMIT, **narrowed)
            except SearchQueryError as exc:
                raise ValidationError({parameter: [str(exc)]}) from exc
        else:
            found = customer_list(**narrowed)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(found, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


# The 360° profile's parts. Module-level because a serializer nested in a class cannot name its siblings.


class ProfileAmountSerializer(serializers.Serializer):
    minor = serializers.IntegerField(help_text="In minor units (cents)")
    currency = serializers.CharField()
    amount = serializers.SerializerMethodField(help_text="The decimal amount, as a string")
    display = serializers.CharField()

    def get_amount(self, amount) -> str:
        return str(from_minor(amount.minor, amount.currency))


class ProfileIdentityFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    value = serializers.CharField()
    source_key = serializers.CharField(help_text="The source the value was taken from; empty when none")
    source_name = serializers.CharField()


class ProfileSourceRecordSerializer(serializers.Serializer):
    source_key = serializers.CharField()
    source_name = serializers.CharField()
    external_id = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    postcode = serializers.CharField()
    city = serializers.CharField()
    signup_date = serializers.DateField(allow_null=True)
    updated_at = serializers.DateTimeField()


class ProfileIdentifierSerializer(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.CharField()
    sources = serializers.ListField(child=serializers.CharField())


class ProfileFavouriteSerializer(serializers.Serializer):
    label = serializers.CharField()
    count = serializers.IntegerField()


class ProfileFiguresSerializer(serializers.Serializer):
    receipts = serializers.IntegerField(help_text="Purchases (receipts that are not returns)")
    returns = serializers.IntegerField()
    first_purchase = serializers.DateTimeField(allow_null=True)
    last_purchase = serializers.DateTimeField(allow_null=True)
    revenue = ProfileAmountSerializer(many=True, help_text="Net of returns, per currency, the main currency first")
    average_basket = ProfileAmountSerializer(many=True)
    returned = ProfileAmountSerializer(many=True)
    categories = ProfileFavouriteSerializer(many=True)
    stores = ProfileFavouriteSerializer(many=True)
    channels = ProfileFavouriteSerializer(many=True)


class ProfileTimelineEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["receipt", "interaction"])
    at = serializers.DateTimeField()
    label = serializers.CharField()
    place = serializers.CharField()
    amount = ProfileAmountSerializer(allow_null=True)
    is_return = serializers.BooleanField()
    details = serializers.ListField(child=serializers.CharField())
    source_key = serializers.CharField()


class ProfileTimelineSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    per_page = serializers.IntegerField()
    has_next = serializers.BooleanField()
    entries = ProfileTimelineEntrySerializer(many=True)


class ProfileMonthSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="The month's first day")
    amount = ProfileAmountSerializer()


class ProfileSpendSerializer(serializers.Serializer):
    currency = serializers.CharField()
    months = ProfileMonthSerializer(many=True)
    other_currencies = serializers.ListField(child=serializers.CharField())


class CustomerDetailApi(APIView):
    """The 360° profile: golden identity with each field's source, source records, identifiers, key figures, the
    newest page of the timeline, spend per month, and the panels other apps register (consents, scores, ...)."""

    permission_classes = [permissions.IsAuthenticated, CanReadProfiles]

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        display_name = serializers.CharField()
        status = serializers.CharField()
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()
        identity = ProfileIdentityFieldSerializer(many=True)
        source_records = ProfileSourceRecordSerializer(many=True)
        identifiers = ProfileIdentifierSerializer(many=True)
        figures = ProfileFiguresSerializer()
        timeline = ProfileTimelineSerializer()
        spend_by_month = ProfileSpendSerializer()
        panels = serializers.DictField(
            child=serializers.DictField(), help_text="Each registered panel's data, by key (consents, segment, ...)"
        )

    @extend_schema(
        responses={
            200: OutputSerializer,
            302: OpenApiResponse(description="A merged customer: Location is the survivor's profile"),
            404: ErrorSerializer,
        }
    )
    def get(self, request: Request, customer_id: str) -> Response:
        try:
            profile = customer_profile(customer_id=customer_id)
        except CustomerMerged as merged:
            location = reverse("api:customer-detail", kwargs={"customer_id": merged.survivor_id})
            body = {"detail": CUSTOMER_MERGED.format(survivor_id=merged.survivor_id)}
            return Response(body, status=status.HTTP_302_FOUND, headers={"Location": location})
        except CustomerNotFound as exc:
            raise NotFound(CUSTOMER_NOT_FOUND) from exc
        data = {
            **{name: getattr(profile, name) for name in ("id", "display_name", "status", "created_at", "updated_at")},
            "identity": profile.identity,
            "source_records": profile.source_records,
            "identifiers": profile.identifiers,
            "figures": profile.figures,
            "timeline": customer_timeline(customer_id=profile.id, page=1, per_page=TIMELINE_PER_PAGE),
            "spend_by_month": customer_spend_by_month(customer_id=profile.id),
            "panels": panels_api(profile.customer),
        }
        return Response(self.OutputSerializer(data).data)
