"""`export_register --out PATH (.csv or .pdf)`: the record of processing activities (GDPR Art. 30)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from consent.models import ProcessingActivity
from consent.services.register_export import register_export_csv, register_export_pdf

EXPORTERS = {".csv": register_export_csv, ".pdf": register_export_pdf}
UNKNOWN_FORMAT = "--out must end in .csv or .pdf"


class Command(BaseCommand):
    help = "Export the processing register (GDPR Art. 30) as CSV or PDF."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", required=True, help="Where to write it: a .csv or .pdf file.")
        parser.add_argument("--active-only", action="store_true", help="Leave out the activities that stopped.")

    def handle(self, *args, out: str, active_only: bool, **options) -> None:
        path = Path(out)
        exporter = EXPORTERS.get(path.suffix.lower())
        if exporter is None:
            raise CommandError(UNKNOWN_FORMAT)
        activities = ProcessingActivity.objects.filter(is_active=True) if active_only else None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(exporter(activities=activities))
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror}") from exc
        count = (activities if activities is not None else ProcessingActivity.objects).count()
        self.stdout.write(f"processing register: {count} activities written to {path}")
