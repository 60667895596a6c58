"""Campaign pages (marketing builds, previews, launches and measures; CRM and the DPO read) and brief pages (a rep
reads and downloads their own briefs; a brief of someone else is a 404 to them).

Thin: a view checks the permission, calls one selector or service, and renders.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from campaigns.models import SCORE_CHOICES, Band, Brief, Campaign, DecisionRule
from campaigns.presentation import report_tables
from campaigns.selectors import audience_by_segment, briefs_visible, campaigns_list, sales_reps
from campaigns.services.audience import AudienceError, audience_build, reasons_text, segmentation_current
from campaigns.services.brief_files import brief_csv_lines, brief_pdf
from campaigns.services.briefs import BriefError, brief_create, brief_download_record, brief_is_expired
from campaigns.services.launch import campaign_create, campaign_launch, campaign_update, rule_delete, rule_save
from campaigns.services.outcomes import result_latest, uplift_compute
from cdp.models import Store
from consent.models import Channel, Purpose
from segments.models import Segment

VIEW = "campaigns.view_campaign"
EDIT = "campaigns.add_campaign"
LAUNCH = "campaigns.launch_campaign"
BRIEF = "campaigns.add_brief"


def _segments():
    run = segmentation_current()
    return Segment.objects.filter(run=run, retired=False).order_by("name") if run else Segment.objects.none()


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    objective = forms.CharField(label=_("Objective"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    purpose = forms.ModelChoiceField(
        label=_("Purpose"), queryset=Purpose.objects.filter(is_active=True).order_by("name"), to_field_name="key"
    )
    channel = forms.ModelChoiceField(label=_("Channel"), queryset=Channel.objects.order_by("name"), to_field_name="key")
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    segments = forms.ModelMultipleChoiceField(label=_("Segments"), queryset=Segment.objects.none(), required=False)
    cities = forms.CharField(label=_("Cities"), required=False, help_text=_("Separated by commas; empty: anywhere."))
    bought_within_days = forms.IntegerField(label=_("Bought within (days)"), min_value=1, required=False)
    not_bought_within_days = forms.IntegerField(label=_("Not bought within (days)"), min_value=1, required=False)
    control_share = forms.FloatField(label=_("Control share"), min_value=0, max_value=0.9, initial=0.1)
    seed = forms.IntegerField(label=_("Seed"), min_value=0, initial=42)
    default_offer = forms.CharField(label=_("Offer when no rule applies"), max_length=200, required=False)
    arm_b = forms.CharField(
        label=_("A/B test: the other strategy"), max_length=150, required=False,
        help_text=_("Named: the treatment is split in two arms, A (the rules) and B (this strategy)."),
    )  # fmt: skip

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segments"].queryset = _segments()

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            raise forms.ValidationError(_("The campaign ends before it starts."))
        return data

    def target(self) -> dict:
        data, target = self.cleaned_data, {}
        if data.get("segments"):
            target["segments"] = [segment.pk for segment in data["segments"]]
        cities = [c.strip() for c in (data.get("cities") or "").split(",") if c.strip()]
        if cities:
            target["cities"] = cities
        for key in ("bought_within_days", "not_bought_within_days"):
            if data.get(key):
                target[key] = data[key]
        return target


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Rule"), max_length=150, required=False)
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=Segment.objects.none(), required=False)
    score_field = forms.ChoiceField(label=_("Score"), choices=[("", "—"), *SCORE_CHOICES], required=False)
    band = forms.ChoiceField(label=_("Band"), choices=[("", "—"), *Band.choices], required=False)
    offer = forms.CharField(label=_("Offer"), max_length=200)
    message = forms.CharField(label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    arm = forms.CharField(label=_("Arm"), max_length=10, required=False)
    priority = forms.IntegerField(label=_("Priority"), min_value=0, max_value=32767, initial=100)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = _segments()


class BriefForm(forms.Form):
    rep = forms.ModelChoiceField(label=_("Sales rep"), queryset=sales_reps(), required=False)
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.order_by("code"), required=False)
    region = forms.CharField(label=_("City or postcode prefix"), max_length=100, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = sales_reps()


@require_GET
@permission_required(VIEW, raise_exception=True)
def campaigns_page(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/list.html", {"campaigns": campaigns_list()[:100], "form": CampaignForm()})


@require_POST
@permission_required(EDIT, raise_exception=True)
def campaign_new(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        arms = [("A", _("Rules"), 0.5), ("B", data["arm_b"], 0.5)] if data.get("arm_b") else []
        try:
            campaign = campaign_create(
                name=data["name"], objective=data["objective"], purpose=data["purpose"].key,
                channel=data["channel"].key, starts_on=data["starts_on"], ends_on=data["ends_on"],
                target=form.target(), control_share=data["control_share"], seed=data["seed"],
                default_offer=data["default_offer"], arms=[(k, str(n), s) for k, n, s in arms], owner=request.user,
            )  # fmt: skip
        except AudienceError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("campaigns:campaign", campaign_id=campaign.pk)
    return render(request, "campaigns/list.html", {"campaigns": campaigns_list()[:100], "form": form}, status=400)


def _campaign(campaign_id: int) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("purpose", "channel", "owner"), pk=campaign_id)


def _edit_form(campaign: Campaign) -> CampaignForm:
    target = campaign.target
    return CampaignForm(
        initial={
            "name": campaign.name, "objective": campaign.objective, "purpose": campaign.purpose.key,
            "channel": campaign.channel.key, "starts_on": campaign.starts_on, "ends_on": campaign.ends_on,
            "segments": target.get("segments", []), "cities": ", ".join(target.get("cities", [])),
            "bought_within_days": target.get("bought_within_days"),
            "not_bought_within_days": target.get("not_bought_within_days"),
            "control_share": campaign.control_share, "seed": campaign.seed, "default_offer": campaign.default_offer,
        }
    )  # fmt: skip


def _campaign_context(campaign: Campaign, **extra) -> dict:
    return {
        "campaign": campaign,
        "rules": list(campaign.rules.select_related("segment", "channel")),
        "arms": list(campaign.arms.all()),
        "form": _edit_form(campaign),
        "rule_form": RuleForm(),
        "brief_form": BriefForm(),
        "briefs": list(campaign.briefs.select_related("rep", "store")),
        "exclusions": reasons_text(campaign.exclusions) if not campaign.is_draft else [],
        "by_segment": audience_by_segment(campaign) if not campaign.is_draft else [],
        "result": result_latest(campaign),
        **extra,
    }


@require_GET
@permission_required(VIEW, raise_exception=True)
def campaign_page(request: HttpRequest, campaign_id: int) -> HttpResponse:
    return render(request, "campaigns/campaign.html", _campaign_context(_campaign(campaign_id)))


@require_POST
@permission_required(EDIT, raise_exception=True)
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    form = CampaignForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            campaign_update(
                campaign=campaign, name=data["name"], objective=data["objective"], starts_on=data["starts_on"],
                ends_on=data["ends_on"], target=form.target(), control_share=data["control_share"], seed=data["seed"],
                default_offer=data["default_offer"],
            )  # fmt: skip
        except AudienceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Saved."))
            return redirect("campaigns:campaign", campaign_id=campaign.pk)
    context = _campaign_context(campaign)
    context["form"] = form
    return render(request, "campaigns/campaign.html", context, status=400)


@require_POST
@permission_required(EDIT, raise_exception=True)
def rule_new(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    form = RuleForm(request.POST)
    if form.is_valid():
        try:
            rule_save(campaign=campaign, **form.cleaned_data)
        except AudienceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Rule added."))
            return redirect("campaigns:campaign", campaign_id=campaign.pk)
    context = _campaign_context(campaign)
    context["rule_form"] = form
    return render(request, "campaigns/campaign.html", context, status=400)


@require_POST
@permission_required(EDIT, raise_exception=True)
def rule_remove(request: HttpRequest, campaign_id: int, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(DecisionRule.objects.select_related("campaign"), pk=rule_id, campaign_id=campaign_id)
    try:
        rule_delete(rule=rule)
    except AudienceError as exc:
        messages.error(request, str(exc))
    return redirect("campaigns:campaign", campaign_id=campaign_id)


@require_GET
@permission_required(VIEW, raise_exception=True)
def campaign_preview(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    try:
        audience = audience_build(campaign)
    except AudienceError as exc:
        messages.error(request, str(exc))
        return redirect("campaigns:campaign", campaign_id=campaign.pk)
    names = dict(Segment.objects.filter(pk__in=[s for s in audience.by_segment() if s]).values_list("pk", "name"))
    by_segment = sorted(
        ((names.get(s, _("no segment")), n) for s, n in audience.by_segment().items()), key=lambda kv: str(kv[0])
    )
    context = {
        "campaign": campaign,
        "audience": audience,
        "exclusions": reasons_text(audience.excluded),
        "by_segment": by_segment,
        "control": round(audience.eligible * campaign.control_share),
    }
    return render(request, "campaigns/preview.html", context)


@require_POST
@permission_required(LAUNCH, raise_exception=True)
def campaign_launch_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    try:
        result = campaign_launch(campaign=campaign, actor=request.user)
    except AudienceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Launched: %(treatment)s customers to contact, %(control)s held out as the control group.")
            % {"treatment": result.treatment, "control": result.control},
        )
    return redirect("campaigns:campaign", campaign_id=campaign_id)


@require_GET
@permission_required(VIEW, raise_exception=True)
def campaign_results(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    result = result_latest(campaign)
    context = {"campaign": campaign, "result": result, "tables": report_tables(result.report) if result else None}
    return render(request, "campaigns/results.html", context)


@require_POST
@permission_required(EDIT, raise_exception=True)
def campaign_measure(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    try:
        uplift_compute(campaign=campaign)
    except AudienceError as exc:
        messages.error(request, str(exc))
        return redirect("campaigns:campaign", campaign_id=campaign_id)
    return redirect("campaigns:results", campaign_id=campaign_id)


@require_POST
@permission_required(BRIEF, raise_exception=True)
def brief_new(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    form = BriefForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a sales rep, a store or a region from the lists."))
        return redirect("campaigns:campaign", campaign_id=campaign_id)
    try:
        with transaction.atomic():
            brief = brief_create(campaign=campaign, actor=request.user, **form.cleaned_data)
    except BriefError as exc:
        messages.error(request, str(exc))
        return redirect("campaigns:campaign", campaign_id=campaign_id)
    return redirect("campaigns:brief", brief_id=brief.pk)


def _brief(request: HttpRequest, brief_id: int) -> Brief:
    """The brief if the user may read it; anyone else's is not found (its existence is not theirs to know)."""
    brief = briefs_visible(request.user).filter(pk=brief_id).first()
    if brief is None:
        raise Http404
    return brief


@require_GET
def brief_page(request: HttpRequest, brief_id: int) -> HttpResponse:
    brief = _brief(request, brief_id)
    context = {"brief": brief, "expired": brief_is_expired(brief), "refresh": not brief.done}
    return render(request, "campaigns/brief.html", context)


@require_GET
def brief_download(request: HttpRequest, brief_id: int, format: str) -> HttpResponse:
    if format not in ("csv", "pdf"):
        raise Http404
    brief = _brief(request, brief_id)
    try:
        brief_download_record(brief=brief, user=request.user, format=format)
    except BriefError as exc:
        messages.error(request, str(exc))
        return redirect("campaigns:brief", brief_id=brief.pk)
    filename = f"brief-{brief.pk}-{brief.campaign.name[:40]}".replace(" ", "-").replace('"', "")
    if format == "csv":
        response = StreamingHttpResponse(brief_csv_lines(brief), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(brief_pdf(brief), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{format}"'
    return response
