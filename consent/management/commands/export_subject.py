"""`export_subject (--customer UUID | --source NAME --external-id ID) --out PATH.zip`: the portability archive."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from consent.management.subject import add_subject_arguments, find_subject
from consent.services.export import subject_export


class Command(BaseCommand):
    help = "Write a customer's portability archive (JSON and CSV per table) to a ZIP file: the DPO's admin service."

    def add_arguments(self, parser) -> None:
        add_subject_arguments(parser)
        parser.add_argument("--out", type=Path, required=True, help="the ZIP file to write")

    def handle(self, *args, customer=None, source=None, external_id=None, out: Path, **options) -> None:
        out = Path(out)
        if out.suffix.lower() != ".zip":
            raise CommandError("--out must name a .zip file", returncode=2)
        found = find_subject(customer=customer, source=source, external_id=external_id)
        try:
            path = subject_export(customer=found, out=out)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages), returncode=1) from exc
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror}", returncode=1) from exc
        self.stdout.write(f"exported customer {found.pk} to {path} ({path.stat().st_size} bytes)")
