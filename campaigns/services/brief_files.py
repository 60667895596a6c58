"""A brief as files: CSV (one row per lead, streamed) and a PDF for a person (one block per lead: who, why, how to
reach them, what to offer), rendered from the stored leads on each download."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone

from campaigns.models import Brief, BriefLead
from campaigns.services.briefs import brief_leads

CSV_COLUMNS = (
    "rank", "customer_id", "name", "city", "email", "phone", "address", "segment", "segment_description",
    "spend_12_months", "receipts_12_months", "churn_risk", "churn_reasons", "expected_value", "last_purchases",
    "offer", "rule", "arm", "message",
)  # fmt: skip


def retailer_name() -> str:
    if settings.CLIENTELE_RETAILER_NAME:
        return settings.CLIENTELE_RETAILER_NAME
    from consent.models import Controller

    name = Controller.objects.order_by("pk").values_list("name", flat=True).first() or ""
    return "" if name.startswith("The retailer (") else name


def _churn(details: dict) -> str:
    if details.get("churn_probability") is None:
        return ""
    band = details.get("churn_band") or ""
    return f"{float(details['churn_probability']):.0%}" + (f" ({band})" if band else "")


def _purchases(details: dict) -> str:
    return "; ".join(f"{p['date']} {p['amount']} {p['where']}".strip() for p in details.get("last_purchases", []))


def csv_row(lead: BriefLead) -> list:
    d, contacts = lead.details, lead.details.get("contacts", {})
    return [
        lead.rank, d.get("customer_id", ""), d.get("name", ""), d.get("city", ""), contacts.get("email", ""),
        contacts.get("phone", ""), contacts.get("address", ""), d.get("segment", ""), d.get("segment_description", ""),
        d.get("spend_12_months", ""), d.get("receipts_12_months", ""), _churn(d), "; ".join(d.get("churn_reasons", [])),
        d.get("predicted_value", "" if d.get("expected_value") is None else d["expected_value"]), _purchases(d),
        d.get("offer", ""),
        d.get("rule", ""), d.get("arm", ""), d.get("message", ""),
    ]  # fmt: skip


def brief_csv_lines(brief: Brief) -> Iterator[str]:
    """The CSV, a line at a time (UTF-8 with a BOM so spreadsheets read the accents)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    for lead in brief_leads(brief):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(csv_row(lead))
        yield buffer.getvalue()


def brief_csv(brief: Brief) -> bytes:
    return "".join(brief_csv_lines(brief)).encode("utf-8")


def _rep(brief: Brief) -> str:
    if brief.rep is None:
        return "the whole campaign"
    return brief.rep.get_full_name() or brief.rep.get_username()


def _p(text) -> str:
    return escape(str(text))


def brief_pdf(brief: Brief) -> bytes:
    """A4: the retailer, the campaign and the date on top; then one block per lead, kept on one page."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import HRFlowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=8.5, leading=10.5)
    heading = styles["Heading3"].clone("lead", spaceBefore=2, spaceAfter=2)
    buffer = io.BytesIO()
    campaign = brief.campaign
    title = f"Sales brief: {campaign.name}"
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm, bottomMargin=14 * mm,
        title=title, author=retailer_name() or "Clientele",
    )  # fmt: skip
    generated = timezone.localtime(brief.finished_at or brief.created_at)
    story = [
        Paragraph(_p(retailer_name() or "Clientele"), styles["Heading2"]),
        Paragraph(_p(title), styles["Title"]),
        Paragraph(
            _p(
                f"For {_rep(brief)} · {brief.lead_count} leads, best first · "
                f"generated {generated:%Y-%m-%d %H:%M} · expires {timezone.localtime(brief.expires_at):%Y-%m-%d}"
            ),
            body,
        ),
        Paragraph(
            _p(
                f"Campaign window {campaign.starts_on:%Y-%m-%d} to {campaign.ends_on:%Y-%m-%d}. "
                f"{campaign.objective} Contact details are given only for the channels each customer agreed to."
            ),
            small,
        ),
        Spacer(1, 4 * mm),
    ]
    for lead in brief_leads(brief):
        d, contacts = lead.details, lead.details.get("contacts", {})
        lines = [
            Paragraph(_p(f"{lead.rank}. {d.get('name', '')}" + (f", {d['city']}" if d.get("city") else "")), heading)
        ]
        labels = (("phone", "Phone"), ("email", "E-mail"), ("address", "Address"))
        reach = [f"{label}: {contacts[key]}" for key, label in labels if contacts.get(key)]
        lines.append(Paragraph(_p(" · ".join(reach) or "No channel consented: talk to them in store."), body))
        why = f"Why: {d.get('segment', '')}" if d.get("segment") else "Why:"
        if d.get("segment_description"):
            why += f" ({d['segment_description']})"
        why += f"; spent {d.get('spend_12_months', '')} in {d.get('receipts_12_months', 0)} visits over 12 months"
        if _churn(d):
            why += f"; churn risk {_churn(d)}"
            if d.get("churn_reasons"):
                why += ": " + ", ".join(d["churn_reasons"])
        if d.get("predicted_value"):
            why += f"; predicted to spend {d['predicted_value']} in the next {settings.CLV_HORIZON_DAYS} days"
        lines.append(Paragraph(_p(why + "."), small))
        if d.get("last_purchases"):
            lines.append(Paragraph(_p("Last purchases: " + _purchases(d)), small))
        offer = f"Offer: {d.get('offer') or 'none set'}"
        if d.get("rule"):
            offer += f" (rule: {d['rule']})"
        lines.append(Paragraph("<b>" + _p(offer) + "</b>", body))
        if d.get("message"):
            lines.append(Paragraph(_p(f"Say: {d['message']}"), small))
        lines.append(HRFlowable(width="100%", thickness=0.3, color=colors.lightgrey, spaceBefore=3, spaceAfter=3))
        story.append(KeepTogether(lines))
    if brief.lead_count == 0:
        story.append(Paragraph("No lead in this brief.", body))
    document.build(story)
    return buffer.getvalue()
