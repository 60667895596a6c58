"""`segment [--algorithm kmeans|hdbscan|optics|dbscan|ward] [--k auto|N] [--as-of DATE] [--report PATH.json]
[--export PATH.csv]`: one clustering run, stored with its metrics; prints a one-line summary."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from segments.models import SegmentationRun
from segments.selectors import export_rows, run_segments
from segments.services.clustering import segmentation_run_create, segmentation_run_execute

EXPORT_HEADER = ("customer_id", "external_ids", "segment")


def _k(value: str) -> int | None:
    if value == "auto":
        return None
    try:
        k = int(value)
    except ValueError as exc:
        raise CommandError(f"--k must be auto or a number of segments, not {value!r}", returncode=2) from exc
    if k < 2:
        raise CommandError("--k must be at least 2", returncode=2)
    return k


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--as-of must be a date (YYYY-MM-DD), not {value!r}", returncode=2) from exc


def report(run: SegmentationRun) -> dict:
    return {
        "run": run.pk,
        "algorithm": run.algorithm,
        "as_of": run.as_of.isoformat(),
        "k": run.k,
        "k_requested": run.k_requested,
        "parameters": run.parameters,
        "metrics": run.metrics,
        "curve": run.curve,
        "stability": run.stability,
        "alerts": run.alerts,
        "customers": run.customers,
        "segments": [
            {
                "id": segment.pk,
                "name": segment.name,
                "description": segment.description,
                "size": segment.size,
                "revenue_share": segment.revenue_share,
                "profile": segment.profile,
            }
            for segment in run_segments(run)
        ],
        "rfm_crosstab": run.rfm_crosstab,
    }


class Command(BaseCommand):
    help = "Segment the customers who may be profiled (one clustering run), and optionally report and export it."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--algorithm", default="kmeans", choices=SegmentationRun.Algorithm.values)
        parser.add_argument("--k", default="auto", help="auto (chosen by silhouette) or a number of segments")
        parser.add_argument("--as-of", help="features from data before this date (YYYY-MM-DD); default now")
        parser.add_argument("--report", type=Path, help="write the run's parameters and metrics (JSON) here")
        parser.add_argument("--export", type=Path, help="write customer_id, external_ids, segment (CSV) here")

    def handle(self, *args, **options) -> None:
        run = segmentation_run_create(algorithm=options["algorithm"], k=_k(options["k"]), as_of=_date(options["as_of"]))
        try:
            run = segmentation_run_execute(run_id=run.pk)
        except Exception as exc:
            raise CommandError(f"segmentation failed: {type(exc).__name__}: {exc}", returncode=1) from exc
        written = self._outputs(run, options)
        metrics = run.metrics
        silhouette = metrics.get("silhouette")
        summary = (
            f"segmentation run {run.pk}: {run.customers} customers in {run.k} segments "
            f"({run.get_algorithm_display()}"
            + (f", silhouette {silhouette:.3f}" if silhouette is not None else "")
            + f", ARI with RFM {metrics.get('ari_with_rfm', 0):.3f}); {run.seconds:.1f}s"
        )
        self.stdout.write(summary + written)

    def _outputs(self, run: SegmentationRun, options) -> str:
        written = ""
        try:
            if options["report"]:
                path = Path(options["report"])
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(report(run), indent=2, ensure_ascii=False, default=str), encoding="utf-8")
                written += f"; report {path}"
            if options["export"]:
                path = Path(options["export"])
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("w", encoding="utf-8", newline="") as handle:
                    writer = csv.writer(handle)
                    writer.writerow(EXPORT_HEADER)
                    count = 0
                    for row in export_rows(run):
                        writer.writerow(row)
                        count += 1
                written += f"; exported {count} rows to {path}"
        except OSError as exc:
            raise CommandError(f"cannot write: {exc}", returncode=2) from exc
        return written
