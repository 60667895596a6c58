"""Customer import with identity matching at import, on PostgreSQL: a file matched against as many existing records.

1. People of `cdp.demo.people` (their own names, streets and four-digit postcodes, every column), written twice: a
   clean file and a second file of the same people with the slips of duplicates (typos, swapped names, old
   addresses...), both with their truth. Cached under var/bench/.
2. A base database (built once, kept as a PostgreSQL template): the first file imported, then `resolve_identities`,
   so a trained model and the existing customers are in place, as at a retailer that already runs the product.
3. Each run copies the template into a fresh database and imports the second file in a fresh process (wall time
   and that process's peak memory): every row is matched at import against the existing records.
4. The links the import made are compared with the truth (pairwise precision, recall, F1, B-cubed F1).
"""

from __future__ import annotations

import csv
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

NAME = "customer-import"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/"
COLUMNS = ("external_id", "first_name", "last_name", "email", "phone", "birth_date", "gender", "address", "postcode")
COLUMNS += ("city", "country")
GOAL = 5_000
FLOOR = 2_000
# Run a command and print its peak resident memory (KiB): a fresh parent per run, so the figure is that run's own.
_PEAK = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(r.returncode)"
)


def add_arguments(parser) -> None:
    parser.add_argument("--import-people", type=int, default=200_000, help="people in each of the two files")
    parser.add_argument("--import-repeat", type=int, default=3, help="runs of the second file's import")
    parser.add_argument("--import-label", default="current", help="names the base database (one per schema)")


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _server() -> str:
    return os.environ.get("CUSTOMER_BENCH_SERVER_URL", DEFAULT_URL)


def _prefix() -> str:
    """Names the benchmark's databases begin with (the base template and its per-run copy)."""
    return os.environ.get("CUSTOMER_BENCH_DATABASE_PREFIX", "clientele_custbench_")


def _psql(*args: str) -> None:
    subprocess.run(["psql", _server() + "postgres", "-q", "-c", *args], check=True, stdout=subprocess.DEVNULL)


def data_folder(people_count: int) -> Path:
    """The two files and their truth, written once."""
    sys.path.insert(0, str(ROOT))
    from cdp.demo import people

    folder = ROOT / "var" / "bench" / f"customers-{people_count}"
    if (folder / "truth.csv").exists():
        return folder
    persons = people.make_people(people_count, seed=2026)
    first, second = people.linked_sources(persons, seed=2026, prefixes=("C", "L"))
    files = [
        people.write_file(folder / "first.csv", "crm", first, COLUMNS),
        people.write_file(folder / "second.csv", "loyalty", second, COLUMNS),
    ]
    with (folder / "truth.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "external_id", "person_id"])
        for (source, external_id), person in people.truth(files).items():
            writer.writerow([source, external_id, person])
    return folder


def _manage(database: str, *args: str, peak: bool = False) -> tuple[float, float, str]:
    """(seconds, peak MiB, last line printed) of one manage.py command in a fresh process."""
    env = {**os.environ, "DATABASE_URL": _server() + database, "CELERY_BROKER_URL": "", "PRODUCTION": "false"}
    command = [_python(), "manage.py", *args]
    if peak:
        command = [_python(), "-c", _PEAK, *command]
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if result.returncode not in (0, 1):
        raise RuntimeError(f"manage.py {args[0]} failed: {result.stderr[-3000:]}")
    peak_mib = int(result.stderr.strip().splitlines()[-1]) / 1024 if peak else 0.0
    lines = result.stdout.strip().splitlines()
    return seconds, peak_mib, lines[-1] if lines else ""


def base_database(folder: Path, label: str) -> tuple[str, dict]:
    """The template database: the first file imported and resolved (built when missing)."""
    name = f"{_prefix()}{label}"
    marker = folder / f"base-{name}.txt"
    if marker.exists():
        return name, {"built": marker.read_text(encoding="utf-8").strip()}
    _psql(f"DROP DATABASE IF EXISTS {name}")
    _psql(f"CREATE DATABASE {name}")
    _manage(name, "migrate", "--no-input")
    seconds, _, line = _manage(name, "import_customers", str(folder / "first.csv"), "--source", "crm")
    resolve_seconds, _, resolve_line = _manage(name, "resolve_identities")
    built = f"first file imported in {seconds:.0f} s ({line}); resolve_identities {resolve_seconds:.0f} s"
    marker.write_text(built + "\n", encoding="utf-8")
    return name, {"built": built, "resolve": resolve_line}


def _clusters(database: str) -> dict[tuple[str, str], str]:
    query = (
        "COPY (SELECT s.key, r.external_id, r.customer_id FROM cdp_sourcerecord r "
        "JOIN cdp_source s ON s.id = r.source_id) TO STDOUT WITH CSV"
    )
    out = subprocess.run(["psql", _server() + database, "-c", query], check=True, capture_output=True, text=True)
    return {(row[0], row[1]): row[2] for row in csv.reader(out.stdout.splitlines())}


def _truth(folder: Path) -> dict[tuple[str, str], str]:
    with (folder / "truth.csv").open(encoding="utf-8", newline="") as handle:
        return {(row["source"], row["external_id"]): row["person_id"] for row in csv.DictReader(handle)}


def run(args) -> str:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings")
    import django

    django.setup()
    from cdp.identity.metrics import clustering_quality

    folder = data_folder(args.import_people)
    base, built = base_database(folder, args.import_label)
    second = folder / "second.csv"
    rows = sum(1 for _ in second.open(encoding="utf-8")) - 1
    runs = []
    database = f"{base}_run"
    for _ in range(args.import_repeat):
        _psql(f"DROP DATABASE IF EXISTS {database}")
        _psql(f"CREATE DATABASE {database} TEMPLATE {base}")
        seconds, peak, line = _manage(database, "import_customers", str(second), "--source", "loyalty", peak=True)
        runs.append((seconds, peak, line))
    quality = clustering_quality(_clusters(database), _truth(folder))
    _psql(f"DROP DATABASE IF EXISTS {database}")
    median = statistics.median(seconds for seconds, _, _ in runs)
    peak = max(peak for _, peak, _ in runs)
    lines = [
        "## Customer import with matching at import (PostgreSQL)",
        "",
        f"Two files of the same {args.import_people:,} people (`cdp.demo.people`: every column, four-digit "
        "postcodes); the first imported and resolved once (the existing customers and a trained model), the second "
        f"({rows:,} records, each with a duplicate's slips) imported {args.import_repeat} times into a fresh copy: "
        "every row is matched at import against the existing records and among the file's own.",
        "",
        "| figure | measured (median) | goal / floor |",
        "|---|---|---|",
        f"| import throughput | {rows / median:,.0f} records/s ({median:.1f} s) | goal ≥ {GOAL:,}, floor ≥ {FLOOR:,} |",
        f"| import peak memory (max of runs) | {peak:,.0f} MiB | bounded |",
        f"| links made at import: pairwise precision / recall / F1 | {quality.precision:.4f} / {quality.recall:.4f}"
        f" / {quality.f1:.4f} | precision first |",
        f"| B-cubed F1 | {quality.bcubed_f1:.4f} | |",
        "",
        f"Runs: {', '.join(f'{s:.1f} s' for s, _, _ in runs)}; machine load average (1 min) at the end: "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        f"Base database: {built['built']}.",
        "",
        "Command: `.venv/bin/python benchmarks/run.py customer-import --import-people "
        f"{args.import_people} --import-repeat {args.import_repeat}`.",
    ]
    return "\n".join(lines)
