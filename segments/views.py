"""Segmentation pages (marketing; CRM and DPO read them): runs, a run, a segment, a new run and the analyst's edits.

Thin: a view checks the permission, calls one selector or service, and renders.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from segments import charts
from segments.models import Segment, SegmentationRun
from segments.selectors import run_segments, runs_list, segment_flows, segment_members, segment_size_history
from segments.services.assignment import segmentation_freeze
from segments.services.clustering import segmentation_run_create, segmentation_run_start
from segments.services.editing import segment_rename, segment_split, segments_merge

VIEW = "segments.view_segmentationrun"
RUN = "segments.add_segmentationrun"
EDIT = "segments.change_segment"
MEMBERS_PER_PAGE = 50
HEATMAP_FEATURES = 14


class NewRunForm(forms.Form):
    algorithm = forms.ChoiceField(label=_("Method"), choices=SegmentationRun.Algorithm.choices, initial="kmeans")
    k = forms.IntegerField(
        label=_("Segments"), min_value=2, max_value=30, required=False, help_text=_("Empty: chosen by silhouette.")
    )
    as_of = forms.DateField(label=_("Data before"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class FlowForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise forms.ValidationError(_("The first date must come before the second."))
        return cleaned


class RenameForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


@require_GET
@permission_required(VIEW, raise_exception=True)
def runs_page(request: HttpRequest) -> HttpResponse:
    return render(request, "segments/runs.html", {"runs": runs_list()[:50], "form": NewRunForm()})


@require_POST
@permission_required(RUN, raise_exception=True)
def run_new(request: HttpRequest) -> HttpResponse:
    form = NewRunForm(request.POST)
    if not form.is_valid():
        return render(request, "segments/runs.html", {"runs": runs_list()[:50], "form": form}, status=400)
    with transaction.atomic():
        run = segmentation_run_create(
            algorithm=form.cleaned_data["algorithm"],
            k=form.cleaned_data["k"],
            as_of=form.cleaned_data["as_of"],
            actor=request.user,
        )
        segmentation_run_start(run)
    return redirect("segments:run", run_id=run.pk)


def _heatmap(run: SegmentationRun, segments: list[Segment]) -> charts.Svg:
    """The features that set segments apart most often, for every segment."""
    counts: dict[str, tuple[str, float]] = {}
    for segment in segments:
        for item in segment.profile:
            label, weight = counts.get(item["feature"], (item["label"], 0.0))
            counts[item["feature"]] = (label, weight + abs(item["z"]))
    columns = sorted(counts.items(), key=lambda kv: -kv[1][1])[:HEATMAP_FEATURES]
    rows = [(segment.name, {item["feature"]: item["z"] for item in segment.profile}) for segment in segments]
    return charts.heatmap(rows, [(key, label) for key, (label, _) in columns])


@require_GET
@permission_required(VIEW, raise_exception=True)
def run_page(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(SegmentationRun.objects.select_related("snapshot", "actor", "frozen_by"), pk=run_id)
    segments = run_segments(run) if run.status == SegmentationRun.Status.SUCCEEDED else []
    index = {segment.pk: position for position, segment in enumerate(segments)}
    crosstab, classes = run.rfm_crosstab.get("rows", {}), run.rfm_crosstab.get("classes", [])
    rows = [[crosstab.get(str(segment.pk), {}).get(name, 0) for name in classes] for segment in segments]
    context = {
        "run": run,
        "segments": [
            (segment, charts.colour(index[segment.pk]), row) for segment, row in zip(segments, rows, strict=True)
        ],
        "classes": classes,
        "curve": charts.k_curve(run.curve, run.k) if run.curve else None,
        "scatter": charts.scatter(run.scatter, index) if run.scatter else None,
        "heatmap": _heatmap(run, segments) if segments else None,
        "refresh": not run.done,
    }
    if run.frozen_at and segments:
        context.update(_flows(request, run, segments))
    return render(request, "segments/run.html", context)


def _flows(request: HttpRequest, run: SegmentationRun, segments: list[Segment]) -> dict:
    """Customers moving between the segments of a frozen run between two dates (by default its freeze and today)."""
    today = timezone.localdate()
    initial = {"start": timezone.localtime(run.frozen_at).date(), "end": today}
    form = FlowForm(request.GET if "start" in request.GET or "end" in request.GET else initial)
    if not form.is_valid():
        return {"flow_form": form, "flows": None}
    start, end = (
        timezone.make_aware(dt.datetime.combine(form.cleaned_data[name], dt.time.max)) for name in ("start", "end")
    )
    counts = segment_flows(run, start, end)
    rows = [(before, [counts.get((before.pk, after.pk), 0) for after in segments]) for before in segments]
    return {
        "flow_form": form,
        "flows": rows,
        "flow_segments": segments,
        "moved": sum(n for (before, after), n in counts.items() if before != after),
    }


@require_POST
@permission_required(RUN, raise_exception=True)
def run_freeze(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(SegmentationRun, pk=run_id)
    try:
        run = segmentation_freeze(run=run, actor=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        accuracy = run.classifier_metrics.get("cv_accuracy")
        messages.success(
            request,
            _("Segmentation %(run)s is now the active one (assignment accuracy %(accuracy)s).")
            % {"run": run.pk, "accuracy": f"{accuracy:.1%}" if accuracy is not None else "—"},
        )
    return redirect("segments:run", run_id=run_id)


@require_GET
@permission_required(VIEW, raise_exception=True)
def segment_page(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(Segment.objects.select_related("run"), pk=segment_id)
    page = Paginator(segment_members(segment), MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    history = [
        (formats.date_format(moment, "SHORT_DATE_FORMAT"), size) for moment, size in segment_size_history(segment)
    ]
    others = [other for other in run_segments(segment.run) if other.pk != segment.pk]
    context = {
        "segment": segment,
        "page": page,
        "sizes": charts.steps(history) if len(history) > 1 else None,
        "others": others,
        "rename": RenameForm(initial={"name": segment.name, "description": segment.description}),
    }
    return render(request, "segments/segment.html", context)


@require_POST
@permission_required(EDIT, raise_exception=True)
def segment_rename_view(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=segment_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        segment_rename(
            segment=segment,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            actor=request.user,
        )
        messages.success(request, _("Renamed."))
    else:
        messages.error(request, _("A segment needs a name."))
    return redirect("segments:segment", segment_id=segment_id)


@require_POST
@permission_required(EDIT, raise_exception=True)
def segment_merge_view(request: HttpRequest, segment_id: int) -> HttpResponse:
    keep = get_object_or_404(Segment, pk=segment_id)
    other = get_object_or_404(Segment, pk=request.POST.get("other") or 0, run_id=keep.run_id)
    try:
        segments_merge(keep=keep, other=other, actor=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(other)s merged into %(keep)s.") % {"other": other.name, "keep": keep.name})
    return redirect("segments:segment", segment_id=segment_id)


@require_POST
@permission_required(EDIT, raise_exception=True)
def segment_split_view(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=segment_id)
    try:
        children = segment_split(segment=segment, parts=2, actor=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("segments:segment", segment_id=segment_id)
    messages.success(request, _("Split in two: %(names)s.") % {"names": ", ".join(c.name for c in children)})
    return redirect("segments:run", run_id=segment.run_id)
