"""Campaigns API: campaigns (list, create a draft, one, its rules, preview, launch, results) and briefs (a user's
readable briefs, one, its leads, its files). The same services as the pages and the commands.

Refusals are JSON with a `detail`: 400 for bad input (an unknown purpose, channel, segment or filter, score filters
without scores), 404 for an id that is not one (or a brief that is not the caller's), 409 for a campaign in the
wrong state (launched twice, a brief of a draft).
"""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django.http import HttpResponse, StreamingHttpResponse

from campaigns.models import SCORE_FIELDS, Band, Brief, BriefLead, Campaign, CampaignResult, DecisionRule
from campaigns.selectors import briefs_visible, campaigns_list
from campaigns.services.audience import TARGET_KEYS, AudienceError, audience_build
from campaigns.services.brief_files import brief_csv_lines, brief_pdf
from campaigns.services.briefs import BriefError, brief_create, brief_download_record
from campaigns.services.launch import NOT_DRAFT, campaign_create, campaign_launch, rule_save
from campaigns.services.outcomes import result_latest, uplift_compute
from cdp.api.exceptions import ConflictError
from consent.api.params import QueryParameters
from consent.selectors import ConsentLookupError

CAMPAIGN_NOT_FOUND = "No campaign has this id."
BRIEF_NOT_FOUND = "No brief of yours has this id."
NO_RESULT = "The campaign has not been measured yet: POST to measure it."
PAGE_SIZE = 50
READ = "campaigns.view_campaign"
WRITE = "campaigns.add_campaign"
LAUNCH = "campaigns.launch_campaign"


class CanReadCampaigns(permissions.BasePermission):
    message = "reading campaigns needs campaigns.view_campaign (roles marketing, crm, dpo)"

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm(READ))


class CanWriteCampaigns(permissions.BasePermission):
    message = "changing campaigns needs campaigns.add_campaign (role marketing)"

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or bool(request.user and request.user.has_perm(WRITE))


class Pagination(PageNumberPagination):
    page_size = PAGE_SIZE


class PageParameters(QueryParameters):
    page = serializers.IntegerField(min_value=1, required=False)


class DownloadParameters(QueryParameters):
    # not `format`: DRF reads that one to choose its renderer
    file = serializers.ChoiceField(choices=["csv", "pdf"], default="csv")


class CampaignOutputSerializer(serializers.ModelSerializer):
    purpose = serializers.SlugRelatedField(slug_field="key", read_only=True)
    channel = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "objective", "purpose", "channel", "starts_on", "ends_on", "target", "default_offer",
            "control_share", "seed", "status", "matched", "audience_size", "control_size", "exclusions",
            "segmentation_run", "launched_at", "created_at",
        ]  # fmt: skip


class RuleOutputSerializer(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = DecisionRule
        fields = ["id", "name", "segment", "score_field", "band", "offer", "message", "channel", "arm", "priority"]


class BriefOutputSerializer(serializers.ModelSerializer):
    rep = serializers.SlugRelatedField(slug_field="username", read_only=True)
    store = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Brief
        fields = [
            "id", "campaign", "rep", "store", "region", "status", "progress", "lead_count", "left_out", "message",
            "created_at", "finished_at", "expires_at",
        ]  # fmt: skip


class LeadOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = BriefLead
        fields = ["rank", "priority", "details"]


class ResultOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = CampaignResult
        fields = ["id", "campaign", "computed_at", "window_start", "window_end", "report"]


class PreviewOutputSerializer(serializers.Serializer):
    matched = serializers.IntegerField()
    eligible = serializers.IntegerField()
    excluded = serializers.DictField(child=serializers.IntegerField())
    by_segment = serializers.DictField(child=serializers.IntegerField(), help_text="Segment id ('none') -> count.")


def _page(request: Request, queryset, serializer, view) -> Response:
    PageParameters(data=request.query_params).is_valid(raise_exception=True)
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


def _campaign(campaign_id: str) -> Campaign:
    campaign = (
        Campaign.objects.select_related("purpose", "channel")
        .filter(pk=int(campaign_id) if campaign_id.isdigit() and len(campaign_id) < 10 else 0)
        .first()
    )
    if campaign is None:
        raise NotFound(CAMPAIGN_NOT_FOUND)
    return campaign


def _bad(exc: Exception) -> Response:
    return Response({"detail": str(exc).strip("'\"")}, status=status.HTTP_400_BAD_REQUEST)


ERRORS = {
    400: OpenApiResponse(description="Bad input: an unknown purpose, channel, segment or filter"),
    404: OpenApiResponse(description=CAMPAIGN_NOT_FOUND),
}


class CampaignListApi(APIView):
    """Campaigns, newest first; POST creates a draft (its target filters are checked at once)."""

    permission_classes = [permissions.IsAuthenticated, CanReadCampaigns, CanWriteCampaigns]
    parser_classes = [JSONParser]
    pagination_class = Pagination

    class ArmSerializer(serializers.Serializer):
        key = serializers.CharField(max_length=10)
        name = serializers.CharField(max_length=150)
        share = serializers.FloatField(min_value=0.01, max_value=1)

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=150)
        purpose = serializers.CharField(max_length=50)
        channel = serializers.CharField(max_length=50)
        objective = serializers.CharField(required=False, default="", allow_blank=True)
        starts_on = serializers.DateField(required=False)
        ends_on = serializers.DateField(required=False)
        target = serializers.DictField(required=False, default=dict, help_text=f"Keys: {', '.join(TARGET_KEYS)}.")
        control_share = serializers.FloatField(min_value=0, max_value=0.9, default=0.1)
        seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=42)
        default_offer = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
        arms = serializers.ListField(child=serializers.DictField(), required=False, default=list, max_length=4)

        def validate(self, data):
            for field in ("starts_on", "ends_on"):
                if field in data and not dt.date(1970, 1, 1) <= data[field] <= dt.date(2999, 12, 31):
                    raise serializers.ValidationError({field: "a date from 1970 on"})
            return data

    @extend_schema(parameters=[PageParameters], responses={200: CampaignOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return _page(request, campaigns_list().order_by("-created_at", "-id"), CampaignOutputSerializer, self)

    @extend_schema(request=InputSerializer, responses={201: CampaignOutputSerializer, 400: ERRORS[400]})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        arms = []
        for arm in values.pop("arms"):
            item = self.ArmSerializer(data=arm)
            item.is_valid(raise_exception=True)
            arms.append((item.validated_data["key"], item.validated_data["name"], item.validated_data["share"]))
        try:
            campaign = campaign_create(**values, arms=arms, owner=request.user)
        except (AudienceError, ConsentLookupError, ValueError, TypeError) as exc:
            return _bad(exc)
        return Response(CampaignOutputSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(APIView):
    """One campaign: its settings, target, status, audience sizes and the customers left out by reason."""

    permission_classes = [permissions.IsAuthenticated, CanReadCampaigns]

    @extend_schema(responses={200: CampaignOutputSerializer, 404: ERRORS[404]})
    def get(self, request: Request, campaign_id: str) -> Response:
        return Response(CampaignOutputSerializer(_campaign(campaign_id)).data)


class CampaignRulesApi(APIView):
    """The decision matrix of a campaign; POST adds a rule (drafts only)."""

    permission_classes = [permissions.IsAuthenticated, CanReadCampaigns, CanWriteCampaigns]
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
        segment = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
        score_field = serializers.ChoiceField(choices=["", *SCORE_FIELDS], required=False, default="")
        band = serializers.ChoiceField(choices=["", *Band.values], required=False, default="")
        offer = serializers.CharField(max_length=200)
        message = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)
        arm = serializers.CharField(max_length=10, required=False, default="", allow_blank=True)
        priority = serializers.IntegerField(min_value=0, max_value=32767, default=100)

    @extend_schema(responses={200: RuleOutputSerializer(many=True), 404: ERRORS[404]})
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign = _campaign(campaign_id)
        return Response(RuleOutputSerializer(campaign.rules.select_related("channel"), many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: RuleOutputSerializer, 400: ERRORS[400], 404: ERRORS[404],
                   409: OpenApiResponse(description=NOT_DRAFT)},
    )  # fmt: skip
    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = _campaign(campaign_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["segment_id"] = values.pop("segment")
        if not campaign.is_draft:
            raise ConflictError(NOT_DRAFT)
        from segments.models import Segment

        if values["segment_id"] is not None and not Segment.objects.filter(pk=values["segment_id"]).exists():
            return _bad(ValueError(f"no segment has the id {values['segment_id']}"))
        try:
            rule = rule_save(campaign=campaign, **values)
        except AudienceError as exc:
            return _bad(exc)
        return Response(RuleOutputSerializer(rule).data, status=status.HTTP_201_CREATED)


class CampaignPreviewApi(APIView):
    """Who the campaign would reach now, and who it leaves out, by reason."""

    permission_classes = [permissions.IsAuthenticated, CanReadCampaigns]

    @extend_schema(responses={200: PreviewOutputSerializer, 400: ERRORS[400], 404: ERRORS[404]})
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign = _campaign(campaign_id)
        try:
            audience = audience_build(campaign)
        except (AudienceError, ConsentLookupError) as exc:
            return _bad(exc)
        return Response(
            {
                "matched": audience.matched,
                "eligible": audience.eligible,
                "excluded": audience.excluded,
                "by_segment": {str(k or "none"): v for k, v in audience.by_segment().items()},
            }
        )


class CampaignLaunchApi(APIView):
    """Launch: freeze the audience, draw the control group and the arms from the campaign's seed."""

    permission_classes = [permissions.IsAuthenticated, CanReadCampaigns]

    @extend_schema(
        request=None,
        responses={200: CampaignOutputSerializer, 400: ERRORS[400], 403: OpenApiResponse(description="Not allowed"),
                   404: ERRORS[404], 409: OpenApiResponse(description=NOT_DRAFT)},
    )  # fmt: skip
    def post(self, request: Request, campaign_id: str) -> Response:
        if not request.user.has_perm(LAUNCH):
            return Response({"detail": "launching needs campaigns.launch_campaign"}, status=status.HTTP_403_FORBIDDEN)
        campaign = _campaign(campaign_id)
        if not campaign.is_draft:
            raise ConflictError(NOT_DRAFT)
        try:
            result = campaign_launch(campaign=campaign, actor=request.user)
        except (AudienceError, ConsentLookupError) as exc:
            return _bad(exc)
        return Response(CampaignOutputSerializer(result.campaign).data)


class CampaignResultsApi(APIView):
    """The latest measurement (treatment against control, per segment, arm against arm); POST measures now."""

    permission_classes = [permissions.IsAuthenticated, CanReadCampaigns, CanWriteCampaigns]

    @extend_schema(responses={200: ResultOutputSerializer, 404: OpenApiResponse(description=NO_RESULT)})
    def get(self, request: Request, campaign_id: str) -> Response:
        result = result_latest(_campaign(campaign_id))
        if result is None:
            raise NotFound(NO_RESULT)
        return Response(ResultOutputSerializer(result).data)

    @extend_schema(
        request=None,
        responses={201: ResultOutputSerializer, 404: ERRORS[404], 409: OpenApiResponse(description="A draft")},
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = _campaign(campaign_id)
        if campaign.is_draft:
            raise ConflictError("the campaign has not been launched: there is nothing to measure yet")
        return Response(ResultOutputSerializer(uplift_compute(campaign=campaign)).data, status=status.HTTP_201_CREATED)


class CampaignBriefsApi(APIView):
    """A campaign's briefs; POST makes one (for a sales rep, narrowed to a store or a region) on the `ml` queue."""

    permission_classes = [permissions.IsAuthenticated, CanReadCampaigns, CanWriteCampaigns]
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        rep = serializers.CharField(max_length=150, required=False, help_text="The rep's username.")
        store = serializers.CharField(max_length=50, required=False, help_text="A store's code.")
        region = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)

    @extend_schema(responses={200: BriefOutputSerializer(many=True), 404: ERRORS[404]})
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign = _campaign(campaign_id)
        return Response(BriefOutputSerializer(campaign.briefs.select_related("rep", "store"), many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={202: BriefOutputSerializer, 400: ERRORS[400], 404: ERRORS[404],
                   409: OpenApiResponse(description="A draft has no brief")},
    )  # fmt: skip
    def post(self, request: Request, campaign_id: str) -> Response:
        from django.contrib.auth import get_user_model

        from cdp.models import Store

        campaign = _campaign(campaign_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        rep = store = None
        if values.get("rep"):
            rep = get_user_model().objects.filter(username=values["rep"]).first()
            if rep is None:
                return _bad(ValueError(f"no user is named {values['rep']!r}"))
        if values.get("store"):
            store = Store.objects.filter(code=values["store"]).first()
            if store is None:
                return _bad(ValueError(f"no store has the code {values['store']!r}"))
        if campaign.is_draft:
            raise ConflictError("a brief is made from a launched campaign")
        try:
            brief = brief_create(campaign=campaign, rep=rep, store=store, region=values["region"], actor=request.user)
        except BriefError as exc:
            raise ConflictError(str(exc)) from exc
        return Response(BriefOutputSerializer(brief).data, status=status.HTTP_202_ACCEPTED)


def _brief(request: Request, brief_id: str) -> Brief:
    brief = (
        briefs_visible(request.user)
        .filter(pk=int(brief_id) if brief_id.isdigit() and len(brief_id) < 10 else 0)
        .first()
    )
    if brief is None:
        raise NotFound(BRIEF_NOT_FOUND)
    return brief


class BriefListApi(APIView):
    """The briefs the caller may read: a sales rep's own, newest first (every brief for marketing, CRM, DPO)."""

    permission_classes = [permissions.IsAuthenticated]
    pagination_class = Pagination

    @extend_schema(parameters=[PageParameters], responses={200: BriefOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return _page(request, briefs_visible(request.user).order_by("-created_at", "-id"), BriefOutputSerializer, self)


class BriefDetailApi(APIView):
    """One brief: its status and progress, lead count and expiry."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: BriefOutputSerializer, 404: OpenApiResponse(description=BRIEF_NOT_FOUND)})
    def get(self, request: Request, brief_id: str) -> Response:
        return Response(BriefOutputSerializer(_brief(request, brief_id)).data)


class BriefLeadsApi(APIView):
    """A brief's leads, best first (paginated); reading them is audited as a download in JSON."""

    permission_classes = [permissions.IsAuthenticated]
    pagination_class = Pagination

    @extend_schema(
        parameters=[PageParameters],
        responses={200: LeadOutputSerializer(many=True), 404: OpenApiResponse(description=BRIEF_NOT_FOUND),
                   409: OpenApiResponse(description="Not ready, or expired")},
    )  # fmt: skip
    def get(self, request: Request, brief_id: str) -> Response:
        brief = _brief(request, brief_id)
        PageParameters(data=request.query_params).is_valid(raise_exception=True)
        try:
            brief_download_record(brief=brief, user=request.user, format="json")
        except BriefError as exc:
            raise ConflictError(str(exc)) from exc
        return _page(request, BriefLead.objects.filter(brief=brief).order_by("rank"), LeadOutputSerializer, self)


class BriefDownloadApi(APIView):
    """The brief as a file: `file=csv` (default) or `file=pdf`. Each download is audited (who, when, which format)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[DownloadParameters],
        responses={(200, "text/csv"): bytes, (200, "application/pdf"): bytes,
                   404: OpenApiResponse(description=BRIEF_NOT_FOUND),
                   409: OpenApiResponse(description="Not ready, or expired")},
    )  # fmt: skip
    def get(self, request: Request, brief_id: str):
        brief = _brief(request, brief_id)
        params = DownloadParameters(data=request.query_params)
        params.is_valid(raise_exception=True)
        format = params.validated_data["file"]
        try:
            brief_download_record(brief=brief, user=request.user, format=format)
        except BriefError as exc:
            raise ConflictError(str(exc)) from exc
        if format == "csv":
            response = StreamingHttpResponse(brief_csv_lines(brief), content_type="text/csv; charset=utf-8")
        else:
            response = HttpResponse(brief_pdf(brief), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="brief-{brief.pk}.{format}"'
        return response
