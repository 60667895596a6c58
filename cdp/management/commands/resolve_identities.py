"""`resolve_identities [--export-clusters PATH]`: link every source record into customers, print a one-line summary."""

from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cdp.identity.services import clusters_export_rows, identity_resolve_all

EXPORT_HEADER = ("source", "external_id", "customer_id")


def clusters_export(path: Path) -> int:
    """Write the CSV of source, external_id, customer_id (one row per source record); returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = clusters_export_rows()
    with path.open("w", encoding="utf-8", newline="") as handle:
        # An exchange file read by programs (DESIGN.md's contract): the ids exactly as the source files gave them,
        # not escaped for a spreadsheet (an external id such as "-1042" must come back as it went in).
        writer = csv.writer(handle)
        writer.writerow(EXPORT_HEADER)
        writer.writerows(rows)
    return len(rows)


class Command(BaseCommand):
    help = "Resolve identities over all source records (train, score, merge, queue reviews); optionally export."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--export-clusters", type=Path, help="write source,external_id,customer_id to this CSV")

    def handle(self, *args, export_clusters: Path | None = None, **options) -> None:
        try:
            run = identity_resolve_all()
        except Exception as exc:
            raise CommandError(f"identity resolution failed: {type(exc).__name__}: {exc}", returncode=1) from exc
        summary = (
            f"records {run.records}, links auto {run.links_auto}, review {run.links_review}, "
            f"rejected {run.links_below + run.links_refused}; customers {run.customers_before} → "
            f"{run.customers_after}; {run.reviews_created} reviews queued; {run.seconds:.1f}s (run {run.pk})"
        )
        if run.message:
            summary += f"; {run.message}"
        if export_clusters is not None:
            try:
                written = clusters_export(Path(export_clusters))
            except OSError as exc:
                raise CommandError(f"cannot write {export_clusters}: {exc}", returncode=2) from exc
            summary += f"; exported {written} rows to {export_clusters}"
        self.stdout.write(summary)
