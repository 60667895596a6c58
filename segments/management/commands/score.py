"""`score [churn|propensity|clv|all] [--as-of DATE] [--horizon-days N] [--report PATH.json] [--predictions PATH.csv]`:
fit and store a model version of each kind, score every eligible customer, print a one-line summary.

Without --as-of the models learn from everything and score today (the versions become the active ones); with it,
nothing at or after the date is read to fit and the metrics compare with what happened in the N days after it.
When the data cannot support a model the line says so instead of printing numbers, and the command exits 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from segments.models import ModelVersion
from segments.selectors import prediction_columns, prediction_rows
from segments.services.scoring import KINDS, SURVIVAL_NOT_AVAILABLE, scores_run

CHOICES = (*KINDS, "survival", "all")


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--as-of must be a date (YYYY-MM-DD), not {value!r}", returncode=2) from exc


def version_report(version: ModelVersion) -> dict:
    return {
        "kind": version.kind,
        "version": version.name,
        "id": version.pk,
        "status": version.status,
        "message": version.message,
        "algorithm": version.algorithm,
        "as_of": version.as_of.isoformat(),
        "horizon_days": version.horizon_days,
        "training_end": version.training_end.isoformat() if version.training_end else None,
        "customers": version.customers,
        "scored": version.scored,
        "snapshot": version.snapshot_id,
        "active": version.is_active,
        "parameters": version.parameters,
        "metrics": version.metrics,
        "library_versions": version.library_versions,
        "artefact_sha256": version.artefact_sha256,
    }


def summary(version: ModelVersion) -> str:
    if version.status != ModelVersion.Status.SUCCEEDED:
        return f"{version.kind}: {version.message}"
    metrics = version.metrics
    test = metrics.get("backtest") or {}
    if version.kind == "churn":
        kept = metrics.get("kept_model", "gradient_boosting")
        part = test or metrics["validation"]
        where = "back-test" if test else "validation"
        return (
            f"{version.name}: {version.scored} customers, {version.algorithm}, {where} ROC-AUC "
            f"{part[kept].get('roc_auc') or 0:.3f} (logistic {part['logistic'].get('roc_auc') or 0:.3f}, recency "
            f"alone {part['recency_alone'].get('roc_auc') or 0:.3f})"
        )
    if version.kind == "propensity":
        figures = (test or metrics["validation"]).get("purchase_probability", {})
        where = "back-test" if test else "validation"
        return f"{version.name}: {version.scored} customers, {where} ROC-AUC {figures.get('roc_auc', 0):.3f}"
    p = version.parameters
    fitted = ", ".join(f"{name}={p[name]:.3g}" for name in ("r", "alpha", "a", "b", "p", "q", "gamma"))
    line = f"{version.name}: {version.scored} customers, {fitted} (per {p['time_unit']})"
    if test:
        model, naive = test["bgnbd"], test["naive_same_rate"]
        line += (
            f", back-test purchases {model['total_error']:+.1%} MAE {model['mae']:.2f} "
            f"(naive {naive['total_error']:+.1%} MAE {naive['mae']:.2f})"
        )
    return line


class Command(BaseCommand):
    help = "Fit and store churn, propensity and lifetime-value models, and score every eligible customer."

    def add_arguments(self, parser) -> None:
        parser.add_argument("kind", nargs="?", default="all", choices=CHOICES)
        parser.add_argument("--as-of", help="fit on data before this date (YYYY-MM-DD) and back-test after it")
        parser.add_argument("--horizon-days", type=int, help="days ahead (default: each kind's setting)")
        parser.add_argument("--report", type=Path, help="write each model's parameters and metrics (JSON) here")
        parser.add_argument("--predictions", type=Path, help="write one row per customer with each score (CSV)")

    def handle(self, *args, **options) -> None:
        kind = options["kind"]
        if kind == "survival":
            raise CommandError(SURVIVAL_NOT_AVAILABLE, returncode=2)
        horizon = options["horizon_days"]
        if horizon is not None and not 1 <= horizon <= 3650:
            raise CommandError("--horizon-days must be between 1 and 3650", returncode=2)
        kinds = list(KINDS) if kind == "all" else [kind]
        as_of = _date(options["as_of"])
        try:
            run = scores_run(kinds=kinds, as_of=as_of, horizon_days=horizon)
        except Exception as exc:
            raise CommandError(f"scoring failed: {type(exc).__name__}: {exc}", returncode=1) from exc
        written = self._outputs(run, options)
        line = "; ".join(summary(version) for version in run.versions) + written
        if run.note:
            line = f"{run.note}; {line}"
        self.stdout.write(line)
        if not any(version.status == ModelVersion.Status.SUCCEEDED for version in run.versions):
            raise CommandError(line, returncode=1)
        failed = [v for v in run.versions if v.status == ModelVersion.Status.FAILED]
        if failed:
            raise CommandError(f"{failed[0].kind} failed: {failed[0].message}", returncode=1)

    def _outputs(self, run, options) -> str:
        written = ""
        try:
            if options["report"]:
                path = Path(options["report"])
                path.parent.mkdir(parents=True, exist_ok=True)
                report = {
                    "as_of": run.moment.isoformat(),
                    "snapshot": run.snapshot_id,
                    "data_problem": run.problem,
                    "note": run.note,
                    "models": {version.kind: version_report(version) for version in run.versions},
                }
                path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
                written += f"; report {path}"
            if options["predictions"]:
                path = Path(options["predictions"])
                path.parent.mkdir(parents=True, exist_ok=True)
                done = [v for v in run.versions if v.status == ModelVersion.Status.SUCCEEDED]
                columns = prediction_columns(done)
                count = 0
                with path.open("w", encoding="utf-8", newline="") as handle:
                    writer = csv.writer(handle)
                    writer.writerow(["customer_id", "external_ids", *columns])
                    for row in prediction_rows(done, columns):
                        writer.writerow(row)
                        count += 1
                written += f"; {count} predictions in {path}"
        except OSError as exc:
            raise CommandError(f"cannot write: {exc}", returncode=2) from exc
        return written
