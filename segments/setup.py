"""Start-up of segments (called from SegmentsConfig.ready()): personal data, the profile's segment panel, the demo."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from cdp.pipeline import DemoContext, register_demo_step
from cdp.profile.panels import register_profile_panel
from consent.registry import Erasure, register_personal_data

SEGMENT_TEMPLATE = "segments/panel_segment.html"


def segment_panel_context(customer) -> dict:
    from segments.selectors import customer_segment

    return {"found": customer_segment(customer)}


def segment_panel_api(customer) -> dict:
    from segments.selectors import customer_segment

    found = customer_segment(customer)
    if found is None:
        return {"status": "not_computed"}
    if found["excluded"]:
        return {"status": "not_profiled"}  # no consent to profiling, an objection or a restriction
    membership = found["membership"]
    return {
        "run": found["run"].pk,
        "segment": None
        if membership is None
        else {
            "id": membership.segment_id,
            "name": membership.segment.name,
            "description": membership.segment.description,
            "entered_at": membership.entered_at.isoformat(),
        },
        "history": [
            {
                "segment": m.segment.name,
                "entered_at": m.entered_at.isoformat(),
                "left_at": m.left_at.isoformat() if m.left_at else None,
                "origin": m.origin,
            }
            for m in found["history"]
        ],
    }


def segmentation_step(ctx: DemoContext) -> str:
    from segments.services.assignment import segmentation_freeze
    from segments.services.clustering import segmentation_run_create, segmentation_run_execute

    run = segmentation_run_execute(run_id=segmentation_run_create().pk)
    segmentation_freeze(run=run)
    names = ", ".join(segment.name for segment in run.segments.order_by("-size")[:4])
    return f"{run.customers} customers in {run.k} segments ({names}…), frozen as the active segmentation"


def scores_step(ctx: DemoContext) -> str:
    from segments.services.scoring import KINDS, scores_run

    run = scores_run(kinds=list(KINDS))
    done = [f"{version.name} ({version.scored} customers)" if version.scored else f"{version.kind}: {version.message}"
            for version in run.versions]  # fmt: skip
    return ("; ".join(done) + (f" ({run.note})" if run.note else "")) or "nothing scored"


def register() -> None:
    from segments import profile_panels
    from segments.models import CustomerScore, SegmentMembership

    register_personal_data(SegmentMembership, subject="customer", erasure=Erasure.DELETE)
    register_personal_data(CustomerScore, subject="customer", erasure=Erasure.DELETE)
    register_profile_panel(
        key="churn_risk",
        title=_("Churn risk"),
        order=30,
        template=profile_panels.CHURN_TEMPLATE,
        context=profile_panels.churn_panel_context,
        api=profile_panels.churn_panel_api,
    )
    register_profile_panel(
        key="lifetime_value",
        title=_("Lifetime value"),
        order=40,
        template=profile_panels.VALUE_TEMPLATE,
        context=profile_panels.value_panel_context,
        api=profile_panels.value_panel_api,
    )
    register_profile_panel(
        key="propensity",
        title=_("Next purchase"),
        order=45,
        template=profile_panels.PROPENSITY_TEMPLATE,
        context=profile_panels.propensity_panel_context,
        api=profile_panels.propensity_panel_api,
    )
    register_profile_panel(
        key="segment",
        title=_("Segment"),
        order=20,
        template=SEGMENT_TEMPLATE,
        context=segment_panel_context,
        api=segment_panel_api,
    )
    register_demo_step(40, "segmentation", segmentation_step)
    register_demo_step(45, "scores", scores_step)
