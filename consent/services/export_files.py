"""Portability archives on the disk: one per request, removed as soon as it is replaced, downloaded or closed.

A copy of a person's data is not left lying around: producing a request's archive again replaces the previous file,
the download is the file's one use, and closing the request (completed or rejected) removes whatever is left. The
files go after the transaction commits, so a rolled-back step never loses an archive that is still recorded.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from consent.models import SubjectExport


def unlink_under_media(relative_paths: list[str]) -> None:
    """Remove files given relative to MEDIA_ROOT; a path that leads outside it is left alone."""
    root = Path(settings.MEDIA_ROOT).resolve()
    for relative in relative_paths:
        path = (root / relative).resolve()
        if root in path.parents:
            path.unlink(missing_ok=True)


def subject_export_files_remove(exports: QuerySet[SubjectExport]) -> int:
    """Mark the archives' records as deleted and remove their files once the transaction commits. Returns how many."""
    rows = list(exports.exclude(file="").values_list("pk", "file"))
    if not rows:
        return 0
    SubjectExport.objects.filter(pk__in=[pk for pk, _ in rows]).update(file="", deleted_at=timezone.now())
    files = [relative for _, relative in rows]
    transaction.on_commit(lambda: unlink_under_media(files))
    return len(rows)


def request_exports_remove(*, request, keep: SubjectExport | None = None) -> int:
    """Every archive of a data-subject request (but `keep`, the one just produced) leaves the disk."""
    exports = SubjectExport.objects.filter(request=request)
    if keep is not None:
        exports = exports.exclude(pk=keep.pk)
    return subject_export_files_remove(exports)
