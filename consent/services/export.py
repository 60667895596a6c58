"""Access (Art. 15) and portability (Art. 20): a ZIP of everything the registry knows about a subject.

The archive holds ``subject.json`` (structured and machine-readable: per registered model, its exported fields and
the subject's rows, and the history rows of models that keep history), one CSV per table for people, and a README
that names the purposes, legal bases and retention periods (Art. 15(1)). It is written under MEDIA_ROOT with a
random name (never a personal value), recorded as a SubjectExport, and handed out once through an expiring link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import secrets
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from consent.models import DataSubjectRequest, Purpose, RequestAction, SubjectExport
from consent.registry import registry
from consent.services.export_files import request_exports_remove, unlink_under_media
from consent.services.register import ACTIVITY_DSR_HANDLING, processing_run_record
from consent.services.requests import dsr_audit, dsr_require_verified
from consent.services.subject import Subject, history_rows, registered_rows, subject_resolve
from consent.spreadsheet import spreadsheet_writer

EXPORT_DIR = "subject_exports"
LINK_LIFETIME = dt.timedelta(hours=24)
EXPORT_MAX_AGE = dt.timedelta(days=7)  # an archive not downloaded within a week is removed
FORMAT_VERSION = 1

LINK_UNKNOWN = "unknown or already used download link"
LINK_EXPIRED = "the download link has expired"
EXPORT_GONE = "the export file no longer exists"
NOT_THE_REQUEST_CUSTOMER = "the customer is not the request's subject"

# History columns that describe the change, not the subject (the changing user is staff, not the subject).
HISTORY_FIELDS = ("history_id", "history_date", "history_type", "history_change_reason")


def _label(model) -> str:
    return model._meta.label


def _history_export(entry, subject: Subject, pks: list[Any]) -> list[dict[str, Any]]:
    rows = history_rows(entry, subject, pks)
    if rows is None:
        return []
    historical_fields = {f.name for f in rows.model._meta.concrete_fields}
    fields = [name for name in (*entry.export, *HISTORY_FIELDS) if name in historical_fields]
    return list(rows.order_by("history_date", "history_id").values(*fields))


def _readable(entry, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as a person reads them: paths through relations named plainly (``product__sku`` -> ``product_sku``),
    then the app's own presentation (money in decimals with its currency...)."""
    rows = [{name.replace("__", "_"): value for name, value in row.items()} for row in rows]
    return entry.present(rows) if entry.present is not None and rows else rows


def _columns(entry) -> list[str]:
    """The columns of a table: what its presentation gives for a row (its exported fields when it has none)."""
    names = [name.replace("__", "_") for name in entry.export]
    if entry.present is None:
        return names
    return list(entry.present([dict.fromkeys(names)])[0])


def subject_data(subject: Subject) -> dict[str, Any]:
    """The archive's structured content: {model label: {fields, rows, history}} for every registered model."""
    tables: dict[str, Any] = {}
    for entry, rows in registered_rows(subject):
        found = list(rows.order_by("pk").values("pk", *entry.export))
        pks = [row.pop("pk") for row in found]
        tables[_label(entry.model)] = {
            "fields": _columns(entry),
            "rows": _readable(entry, found),
            "history": _history_export(entry, subject, pks),
        }
    return tables


def nested_document(tables: dict[str, Any]) -> dict[str, Any]:
    """subject.json's tables: the rows of a table registered with `nest` go inside their parent's rows (a receipt
    carries its lines); the spreadsheets keep one flat file per table."""
    document = {label: {**table, "rows": [dict(row) for row in table["rows"]]} for label, table in tables.items()}
    for entry in registry.entries():
        label = _label(entry.model)
        if entry.nest is None or label not in document:
            continue
        foreign_key, key = entry.nest
        parent = _label(entry.model._meta.get_field(foreign_key).related_model)
        if parent not in document:
            continue
        children: dict[Any, list] = {}
        for row in document.pop(label)["rows"]:
            children.setdefault(row[foreign_key], []).append(row)
        document[parent]["fields"] = [*document[parent]["fields"], key]
        for row in document[parent]["rows"]:
            row[key] = children.get(row["id"], [])
        document[parent].setdefault("nested", {})[key] = label
    return document


def _purposes() -> list[dict[str, Any]]:
    return list(Purpose.objects.order_by("key").values("key", "name", "description", "legal_basis", "retention_days"))


def _csv_text(fields: list[str], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = spreadsheet_writer(buffer)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in fields])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, cls=DjangoJSONEncoder)
    if isinstance(value, dt.datetime | dt.date | uuid.UUID):
        return value.isoformat() if not isinstance(value, uuid.UUID) else str(value)
    return str(value)


README = """Personal data export

subject.json   everything held about you, per table: the fields, your rows, and earlier versions of rows that keep
               a history ("history"), in JSON (UTF-8); a receipt carries its lines. "purposes" lists why data is
               processed, on which legal basis (GDPR Art. 6) and how long it is kept (retention_days after the last
               contact; empty: no fixed period). Amounts are decimals in the currency beside them; dates and times
               are ISO 8601 (times in UTC); what an id stands for (a product's reference and name, a store, a
               source, a purpose) is written beside it.
<table>.csv    the same rows, one CSV file per table, for reading in a spreadsheet.
"""


def _write_zip(handle, subject: Subject, generated_at: dt.datetime) -> None:
    tables = subject_data(subject)
    document = {
        "format_version": FORMAT_VERSION,
        "generated_at": generated_at,
        "subject": [str(pk) for pk in subject.ids],
        "purposes": _purposes(),
        "tables": nested_document(tables),
    }
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README)
        archive.writestr("subject.json", json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2))
        for label, table in tables.items():
            name = label.replace(".", "_").lower()
            archive.writestr(f"{name}.csv", _csv_text(table["fields"], table["rows"]))
            if table["history"]:
                history_fields = list(table["history"][0])
                archive.writestr(f"{name}_history.csv", _csv_text(history_fields, table["history"]))


def _atomic_write(path: Path, subject: Subject, generated_at: dt.datetime) -> None:
    """Written beside its final place and renamed: a reader never sees half an archive."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            _write_zip(handle, subject, generated_at)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def media_path(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


def subject_export(*, customer, actor=None, request=None, out: Path | None = None, task_id: str = "") -> Path:
    """Write the subject's archive and record it. Returns the ZIP's path.

    Without `out`, the archive goes under MEDIA_ROOT/subject_exports/ and is handed out once by link (the DPO's
    path); with `out` (the export_subject command), it is written there and nothing stays under MEDIA_ROOT.
    With a request, the requester's identity must be verified and the customer must be the request's subject.
    """
    if request is not None:
        dsr_require_verified(request)
        if request.customer_id != customer.pk:
            raise ValidationError(NOT_THE_REQUEST_CUSTOMER)
    subject = subject_resolve(customer)
    generated_at = timezone.now()
    relative = f"{EXPORT_DIR}/{uuid.uuid4().hex}.zip"
    path = Path(out) if out is not None else media_path(relative)
    _atomic_write(path, subject, generated_at)  # slow I/O outside the transaction
    with transaction.atomic():
        export = SubjectExport.objects.create(
            request=request,
            customer=customer,
            file=relative if out is None else "",
            sha256=_sha256(path),
            size=path.stat().st_size,
            created_by=actor,
            task_id=task_id,
            deleted_at=None if out is None else generated_at,  # a file handed over outside the media folder
        )
        if request is not None:
            # One archive per request: the one produced before (downloaded or not) leaves the disk now.
            replaced = request_exports_remove(request=request, keep=export)
            note = f"export {export.pk}: {export.size} bytes, sha256 {export.sha256[:16]}…"
            if replaced:
                note += f"; replaces the earlier archive ({replaced} file removed)"
            dsr_audit(request=request, action=RequestAction.EXPORT_PRODUCED, actor=actor, note=note)
        processing_run_record(
            activity=ACTIVITY_DSR_HANDLING,
            kind="subject_export",
            started_at=generated_at,
            actor=actor,
            counts={"bytes": export.size},
            parameters={"request": request.pk if request is not None else None},
            reference=export,
        )
    return path


def subject_export_link(*, export: SubjectExport, actor=None) -> str:
    """A one-time download token for `export`, valid LINK_LIFETIME. Only its hash is kept; a new link voids the last."""
    if export.downloaded_at is not None or not export.file:
        raise ValidationError(EXPORT_GONE)
    token = secrets.token_urlsafe(32)
    export.token_hash = hashlib.sha256(token.encode()).hexdigest()
    export.expires_at = timezone.now() + LINK_LIFETIME
    export.save(update_fields=["token_hash", "expires_at"])
    return token


def subject_export_claim(*, token: str, actor=None) -> Path:
    """Claim the download of `token` (once): returns the file's path. The caller opens it, then calls _discard.

    The claim is a conditional update, so two clicks on the same link serve the file once.
    """
    digest = hashlib.sha256(token.encode()).hexdigest()
    export = SubjectExport.objects.filter(token_hash=digest, downloaded_at__isnull=True).exclude(file="").first()
    if export is None:
        raise ValidationError(LINK_UNKNOWN)
    now = timezone.now()
    if export.expires_at is None or export.expires_at < now:
        raise ValidationError(LINK_EXPIRED)
    path = media_path(export.file)
    if not path.exists():
        raise ValidationError(EXPORT_GONE)
    with transaction.atomic():
        claimed = SubjectExport.objects.filter(pk=export.pk, downloaded_at__isnull=True).update(
            downloaded_at=now, downloaded_by=actor
        )
        if not claimed:
            raise ValidationError(LINK_UNKNOWN)
        if export.request_id is not None:
            dsr_audit(
                request=export.request, action=RequestAction.EXPORT_DOWNLOADED, actor=actor, note=f"export {export.pk}"
            )
    return path


def subject_export_discard(*, path: Path) -> None:
    """Remove a downloaded archive from the disk and mark its record (the download was its one use)."""
    relative = os.path.relpath(path, settings.MEDIA_ROOT)
    Path(path).unlink(missing_ok=True)
    SubjectExport.objects.filter(file=relative).update(file="", deleted_at=timezone.now())


def subject_export_for_request(*, request_id: int, actor_id: int | None = None, task_id: str = "") -> Path:
    """The task's entry: the archive of a request's subject, under MEDIA_ROOT, for a one-time download."""
    request = DataSubjectRequest.objects.select_related("customer").get(pk=request_id)
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id is not None else None
    if request.customer is None:
        raise ValidationError(NOT_THE_REQUEST_CUSTOMER)
    return subject_export(customer=request.customer, actor=actor, request=request, task_id=task_id)


def subject_export_purge(*, now: dt.datetime | None = None, max_age: dt.timedelta = EXPORT_MAX_AGE) -> int:
    """Archives never downloaded are removed once `max_age` old: a copy of a person's data is not left lying around.

    Idempotent: a purged record has no file any more. Returns the number of files removed.
    """
    cutoff = (now or timezone.now()) - max_age
    stale = list(SubjectExport.objects.filter(created_at__lt=cutoff).exclude(file="").values_list("pk", "file"))
    unlink_under_media([relative for _, relative in stale])
    SubjectExport.objects.filter(pk__in=[pk for pk, _ in stale]).update(file="", deleted_at=timezone.now())
    return len(stale)
