"""The processing register as the supervisory authority asks for it (GDPR Art. 30(1)): CSV and PDF.

Both formats are written from one list of fields (ART30_FIELDS), so what one shows the other shows too. Each activity
also says what was actually done under it: how many runs were recorded, and the latest.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Count, Max, Prefetch, QuerySet
from django.utils import timezone

from consent.models import ProcessingActivity, Purpose
from consent.spreadsheet import spreadsheet_writer


def _purposes(activity: ProcessingActivity) -> str:
    linked = sorted(activity.purposes.all(), key=lambda purpose: purpose.key)  # prefetched: sorted here
    return "; ".join(
        f"{purpose.name} ({purpose.key}, {purpose.retention_days} days)"
        if purpose.retention_days
        else f"{purpose.name} ({purpose.key})"
        for purpose in linked
    )


def _date(value) -> str:
    return value.isoformat() if value else ""


def _datetime(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


@dataclass(frozen=True)
class Field:
    label: str
    value: Callable[[ProcessingActivity], str]


# Every field of Art. 30(1), then legal basis, DPIA and review, then the runs recorded under the activity.
ART30_FIELDS: tuple[Field, ...] = (
    Field("Activity", lambda a: a.name),
    Field("Key", lambda a: a.key),
    Field("Controller", lambda a: a.controller.name),
    Field("Controller contact", lambda a: a.controller.contact),
    Field("Joint controllers", lambda a: a.joint_controllers),
    Field("Representative", lambda a: a.controller.representative),
    Field("Data protection officer", lambda a: a.controller.dpo_contact),
    Field("Purposes of the processing", lambda a: a.purpose_description),
    Field("Consent purposes", _purposes),
    Field("Legal basis", lambda a: a.get_legal_basis_display()),
    Field("Legal basis details", lambda a: a.legal_basis_details),
    Field("Categories of data subjects", lambda a: a.data_subject_categories),
    Field("Categories of personal data", lambda a: a.personal_data_categories),
    Field("Categories of recipients", lambda a: a.recipient_categories),
    Field("Transfers to third countries", lambda a: a.third_country_transfers),
    Field("Transfer safeguards", lambda a: a.transfer_safeguards),
    Field("Time limits for erasure", lambda a: a.retention_period),
    Field("Security measures", lambda a: a.security_measures),
    Field("DPIA status", lambda a: a.get_dpia_status_display()),
    Field("DPIA notes", lambda a: a.dpia_notes),
    Field("Last review", lambda a: _date(a.last_reviewed_on)),
    Field("Active", lambda a: "yes" if a.is_active else "no"),
    Field("Runs recorded", lambda a: str(a.run_count)),
    Field("Latest run", lambda a: _datetime(a.latest_run)),
)


def register_activities(activities: QuerySet[ProcessingActivity] | None = None) -> list[ProcessingActivity]:
    """The activities with their controller, purposes and run figures, in three queries whatever their number."""
    queryset = ProcessingActivity.objects.all() if activities is None else activities
    return list(
        queryset.select_related("controller")
        .prefetch_related(Prefetch("purposes", queryset=Purpose.objects.order_by("key")))
        .annotate(run_count=Count("runs"), latest_run=Max("runs__started_at"))
        .order_by("name", "pk")
    )


def register_rows(activities: Iterable[ProcessingActivity]) -> list[list[str]]:
    return [[field.value(activity) or "" for field in ART30_FIELDS] for activity in activities]


def register_export_csv(*, activities: QuerySet[ProcessingActivity] | None = None) -> bytes:
    """One row per activity, one column per field; UTF-8 with a BOM so spreadsheet software reads accents."""
    buffer = io.StringIO()
    writer = spreadsheet_writer(buffer)
    writer.writerow([field.label for field in ART30_FIELDS])
    writer.writerows(register_rows(register_activities(activities)))
    return buffer.getvalue().encode("utf-8-sig")


def register_export_pdf(*, activities: QuerySet[ProcessingActivity] | None = None) -> bytes:
    """A4 document: a title page line, then one table of fields per activity."""
    # reportlab is imported here, not with the module: the admin imports this module in every process, and only
    # this export needs it (a twentieth of a second of each start).
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from reportlab.platypus.flowables import KeepTogether

    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    label_style = styles["BodyText"].clone("label", fontName="Helvetica-Bold")
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title="Record of processing activities",
        author="Clientele",
    )
    generated = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    story = [
        Paragraph("Record of processing activities (GDPR Art. 30)", styles["Title"]),
        Paragraph(f"Generated on {generated}", body),
        Spacer(1, 6 * mm),
    ]
    width = A4[0] - 30 * mm
    for activity in register_activities(activities):
        rows = [
            [Paragraph(_escape(field.label), label_style), Paragraph(_escape(field.value(activity) or "-"), body)]
            for field in ART30_FIELDS
        ]
        table = Table(rows, colWidths=[55 * mm, width - 55 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                ]
            )
        )
        story.append(KeepTogether([Paragraph(_escape(activity.name), styles["Heading2"]), table]))
        story.append(Spacer(1, 6 * mm))
    document.build(story)
    return buffer.getvalue()


def _escape(text: str) -> str:
    """Paragraphs read a small markup language: the register's text is shown as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br/>")
