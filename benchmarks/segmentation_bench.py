"""Segmentation: does it find behaviour that is there, how does it do on the demo retailer, and how fast at scale.

1. Personas: a retailer of five clearly different behaviours (`cdp.demo.behaviours`), imported through the commands
   into a fresh SQLite database, segmented by `segment --k auto` (and the other methods); ARI against the truth.
2. The demo retailer: generated, imported and resolved through the commands (identity resolution included, as a
   retailer would run it); `segment --k auto`, then every k of the range, and the RFM classes, each against the
   personas of the generator's truth (a customer is the person most of its source records belong to). The truth is
   read only here, never by the method.
3. Scale, on PostgreSQL (`SEGMENT_BENCH_DATABASE_URL`, a database built by `manage.py demo --customers 200000`): the
   feature job (snapshot written) beside a fixed aggregation over the same tables, warm cache; a full run (features,
   clustering with an automatic k, naming) in a fresh process with its peak memory; the assignment classifier's
   cross-validated accuracy. With `SEGMENT_BENCH_DATA_DIR` (the demo's --data-dir), that run and the RFM classes
   against the personas too.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

NAME = "segmentation"
ROOT = Path(__file__).resolve().parent.parent
BASELINE_SQL = (
    "select r.customer_id, max(r.purchased_at), count(distinct r.id), sum(l.amount_minor), sum(l.discount_minor), "
    "sum(case when l.quantity < 0 then 1 else 0 end), sum(l.amount_minor) filter (where p.category_id = 1), "
    "sum(l.amount_minor) filter (where p.category_id = 2) from cdp_receiptline l join cdp_receipt r on r.id = "
    "l.receipt_id join cdp_product p on p.id = l.product_id where r.customer_id is not null group by r.customer_id"
)
_PEAK = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(r.returncode)"
)


def add_arguments(parser) -> None:
    parser.add_argument("--segment-personas", type=int, default=300, help="customers per persona")
    parser.add_argument("--segment-demo", type=int, default=5000, help="persons of the demo retailer")
    parser.add_argument("--segment-scale", action="store_true", help="also measure on SEGMENT_BENCH_DATABASE_URL")


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _manage(url: str, *args: str, peak: bool = False) -> tuple[float, float, str]:
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": "", "PRODUCTION": "false"}
    command = [_python(), "manage.py", *args]
    if peak:
        command = [_python(), "-c", _PEAK, *command]
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"manage.py {args[0]} failed: {result.stderr[-3000:]}")
    lines = result.stdout.strip().splitlines()
    peak_mib = int(result.stderr.strip().splitlines()[-1]) / 1024 if peak else 0.0
    return time.monotonic() - started, peak_mib, lines[-1] if lines else ""


def _ari(truth: list, predicted: list) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(truth, predicted))


def _export(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def personas(per_persona: int) -> list[tuple[str, float, int, float]]:
    """(method, ARI, k, seconds) on the personas retailer."""
    from cdp.demo import behaviours

    out = []
    with tempfile.TemporaryDirectory(prefix="segment-bench-") as tmp:
        files = behaviours.write(Path(tmp), per_persona=per_persona, seed=2026)
        url = f"sqlite:///{tmp}/db.sqlite3"
        _manage(url, "migrate", "--no-input")
        for command, path in (
            ("import_customers", files.customers),
            ("import_consents", files.consents),
            ("import_transactions", files.transactions),
        ):
            _manage(url, command, str(path), "--source", "crm")
        for method in ("kmeans", "ward", "hdbscan", "optics", "dbscan"):
            export, report = Path(tmp) / "run.csv", Path(tmp) / "run.json"
            seconds, _, _ = _manage(
                url, "segment", "--algorithm", method, "--export", str(export), "--report", str(report)
            )
            rows = _export(export)
            truth = [files.truth[row["external_ids"].split(":", 1)[1]] for row in rows]
            k = json.loads(report.read_text(encoding="utf-8"))["k"]
            out.append((method, _ari(truth, [row["segment"] for row in rows]), k, seconds))
    return out


def _person_of(folder: Path) -> dict[str, str]:
    with (folder / "truth" / "records.csv").open(encoding="utf-8", newline="") as handle:
        return {f"{row['source']}:{row['external_id']}": row["person_id"] for row in csv.DictReader(handle)}


def _persona_of(folder: Path) -> dict[str, str]:
    with (folder / "truth" / "persons.csv").open(encoding="utf-8", newline="") as handle:
        return {row["person_id"]: row["persona"] for row in csv.DictReader(handle)}


def _persona(row: dict, person_of: dict, persona_of: dict) -> str:
    """The persona of an exported customer: the most common among the persons behind its source records."""
    votes = Counter(persona_of.get(person_of.get(e, ""), "") for e in row["external_ids"].split(";"))
    return votes.most_common(1)[0][0]


def demo(persons: int) -> dict:
    """ARI against the generator's personas: `--k auto`, every k of the range, and the RFM classes."""
    folder = ROOT / "var" / "bench" / f"segment-demo-{persons}"
    if not (folder / "truth" / "persons.csv").exists():
        subprocess.run(
            [_python(), "manage.py", "generate_demo_data", str(folder), "--customers", str(persons)],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    person_of, persona_of = _person_of(folder), _persona_of(folder)
    results: dict = {"by_k": []}
    with tempfile.TemporaryDirectory(prefix="segment-demo-") as tmp:
        url = f"sqlite:///{tmp}/db.sqlite3"
        _manage(url, "migrate", "--no-input")
        for name in ("customers_crm", "customers_eshop", "customers_loyalty", "consents_crm", "consents_eshop",
                     "transactions_loyalty", "transactions_eshop", "events_eshop", "events_crm"):  # fmt: skip
            kind = name.split("_")[0]
            command = {"customers": "import_customers", "consents": "import_consents"}.get(kind, f"import_{kind}")
            _manage(url, command, str(folder / f"{name}.csv"), "--source", name.split("_")[1])
        _manage(url, "resolve_identities")

        def run(*options: str) -> tuple[float, int, dict, float]:
            export, report = Path(tmp) / "run.csv", Path(tmp) / "run.json"
            seconds, _, _ = _manage(url, "segment", *options, "--export", str(export), "--report", str(report))
            rows = _export(export)
            truth = [_persona(row, person_of, persona_of) for row in rows]
            parsed = json.loads(report.read_text(encoding="utf-8"))
            return _ari(truth, [row["segment"] for row in rows]), parsed["k"], parsed, seconds

        ari, k, report, seconds = run("--k", "auto")
        results.update(auto_ari=ari, auto_k=k, customers=report["customers"], seconds=seconds)
        results["rfm_ari_with_segments"] = report["metrics"]["ari_with_rfm"]
        for k in range(2, 16):
            results["by_k"].append((k, run("--k", str(k))[0]))
        results["rfm_ari"] = _rfm_ari(url, person_of, persona_of)
    return results


def _rfm_ari(url: str, person_of: dict, persona_of: dict) -> float:
    """The RFM classes (S1-S5) of the last snapshot's buyers against the personas (read in a process on `url`)."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "cdp.settings", "CELERY_BROKER_URL": ""}
    out = subprocess.run(
        [_python(), str(Path(__file__)), "rfm"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    truth, classes = [], []
    for externals, rfm in json.loads(out.stdout.strip().splitlines()[-1]):
        votes = Counter(persona_of.get(person_of.get(e, ""), "") for e in externals)
        truth.append(votes.most_common(1)[0][0])
        classes.append(rfm)
    return _ari(truth, classes)


def _print_rfm_classes() -> None:
    """[[external ids], RFM class] of the latest snapshot's buyers, as JSON (run in a process of its own)."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from cdp.features.compute import FeatureMatrix
    from cdp.features.selectors import feature_matrix, feature_snapshot_latest
    from cdp.models import SourceRecord
    from segments.services.method import rfm_classes

    matrix = feature_matrix(feature_snapshot_latest())
    keep = matrix.column("frequency") > 0
    ids = [customer for customer, kept in zip(matrix.customer_ids, keep, strict=True) if kept]
    classes = rfm_classes(FeatureMatrix(ids, matrix.features, matrix.values[keep]))
    externals: dict = {}
    for customer, source, external_id in SourceRecord.objects.values_list("customer_id", "source__key", "external_id"):
        externals.setdefault(customer, []).append(f"{source}:{external_id}")
    print(json.dumps([[externals.get(c, []), int(x)] for c, x in zip(ids, classes, strict=True)]))  # noqa: T201


def scale(url: str) -> dict:
    """Feature job beside the baseline aggregation, a full run's time and memory, the classifier's accuracy."""
    import psycopg

    conninfo = url.replace("postgres://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        conn.execute(BASELINE_SQL).fetchall()  # warm the cache
        baseline = []
        for _ in range(3):
            started = time.monotonic()
            conn.execute(BASELINE_SQL).fetchall()
            baseline.append(time.monotonic() - started)
    code = (
        "import time, django; django.setup(); from cdp.features.services import feature_snapshot_create; "
        "t = time.monotonic(); s = feature_snapshot_create(); print(time.monotonic() - t, s.customers)"
    )
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "cdp.settings", "CELERY_BROKER_URL": ""}
    jobs = []
    for _ in range(3):
        out = subprocess.run([_python(), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        seconds, customers = out.stdout.strip().splitlines()[-1].split()
        jobs.append(float(seconds))
    truth_dir = os.environ.get("SEGMENT_BENCH_DATA_DIR")  # the demo's --data-dir: its truth/ gives the personas
    personas_ari = rfm_ari = None
    with tempfile.TemporaryDirectory(prefix="segment-scale-") as tmp:
        export = Path(tmp) / "run.csv"
        seconds, peak, line = _manage(
            url, "segment", "--k", "auto", *(("--export", str(export)) if truth_dir else ()), peak=True
        )
        if truth_dir:
            person_of, persona_of = _person_of(Path(truth_dir)), _persona_of(Path(truth_dir))
            rows = _export(export)
            truth = [_persona(row, person_of, persona_of) for row in rows]
            personas_ari = _ari(truth, [row["segment"] for row in rows])
            rfm_ari = _rfm_ari(url, person_of, persona_of)
    freeze = (
        "import django; django.setup(); from segments.models import SegmentationRun; "
        "from segments.services.assignment import segmentation_freeze; "
        "r = segmentation_freeze(run=SegmentationRun.objects.order_by('-pk').first()); "
        "print(r.classifier_metrics['cv_accuracy'])"
    )
    out = subprocess.run([_python(), "-c", freeze], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return {
        "baseline": statistics.median(baseline),
        "feature_job": statistics.median(jobs),
        "customers": int(customers),
        "run_seconds": seconds,
        "run_peak_mib": peak,
        "run_line": line,
        "accuracy": float(out.stdout.strip().splitlines()[-1]),
        "personas_ari": personas_ari,
        "rfm_ari": rfm_ari,
    }


def run(args) -> str:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings")
    import django

    django.setup()
    lines = ["## Segmentation", ""]
    found = personas(args.segment_personas)
    lines += [
        f"Personas retailer ({args.segment_personas} customers in each of five behaviours, two years, imported "
        "through the commands into SQLite), `segment --algorithm METHOD --k auto`: ARI against the truth. Goal "
        "≥ 0.9 with `--k auto`.",
        "",
        "| method | ARI | segments | seconds |",
        "|---|---|---|---|",
        *(f"| {method} | {ari:.3f} | {k} | {seconds:.1f} |" for method, ari, k, seconds in found),
        "",
    ]
    result = demo(args.segment_demo)
    best_k, best = max(result["by_k"], key=lambda item: item[1])
    lines += [
        f"Demo retailer ({args.segment_demo:,} persons; imported and resolved through the commands, so identity "
        f"resolution is the product's own), {result['customers']:,} customers who may be profiled and bought: "
        "ARI of the segments against the generator's personas. Goal ≥ 0.4, floor above RFM.",
        "",
        "| segmentation | ARI against the personas |",
        "|---|---|",
        f"| `segment --k auto` (k = {result['auto_k']}) | {result['auto_ari']:.3f} |",
        f"| the best k of 2–15 (k = {best_k}) | {best:.3f} |",
        f"| RFM classes S1–S5 | {result['rfm_ari']:.3f} |",
        "",
        "ARI by k: " + ", ".join(f"{k}: {ari:.3f}" for k, ari in result["by_k"]) + ".",
        "",
    ]
    if args.segment_scale:
        url = os.environ["SEGMENT_BENCH_DATABASE_URL"]
        measured = scale(url)
        ratio = measured["feature_job"] / measured["baseline"]
        lines += [
            f"On PostgreSQL, the 200,000-person demo database ({measured['customers']:,} customers in a snapshot):",
            "",
            "| figure | measured (median of 3) | goal / floor |",
            "|---|---|---|",
            f"| fixed aggregation (the baseline) | {measured['baseline']:.1f} s | |",
            f"| feature job, snapshot written | {measured['feature_job']:.1f} s ({ratio:.1f}× the baseline) | "
            "goal ≤ 2×, floor ≤ 4× |",
            f"| full run (features, automatic k, naming) | {measured['run_seconds']:.0f} s, peak "
            f"{measured['run_peak_mib']:,.0f} MiB | goal < 120 s, < 2,048 MiB |",
            f"| assignment accuracy (5-fold cross-validation) | {measured['accuracy']:.3f} | ≥ 0.95 |",
            "",
            f"Run: {measured['run_line']}",
            "",
        ]
        if measured["personas_ari"] is not None:
            lines += [
                f"That run against the generator's personas (`SEGMENT_BENCH_DATA_DIR`, the demo's data folder): ARI "
                f"{measured['personas_ari']:.3f}; the RFM classes S1–S5 {measured['rfm_ari']:.3f}.",
                "",
            ]
    lines.append(
        "Command: `.venv/bin/python benchmarks/run.py segmentation "
        f"--segment-personas {args.segment_personas} --segment-demo {args.segment_demo}"
        + (
            " --segment-scale`, with `SEGMENT_BENCH_DATABASE_URL`"
            + (" and `SEGMENT_BENCH_DATA_DIR`" if os.environ.get("SEGMENT_BENCH_DATA_DIR") else "")
            + " set."
            if args.segment_scale
            else "`."
        )
    )
    return "\n".join(lines)


if __name__ == "__main__" and sys.argv[1:] == ["rfm"]:
    _print_rfm_classes()
