"""Receipt-line import throughput on PostgreSQL, beside a raw COPY of the same file into an unindexed table.

1. Generate the demo retailer (cached under var/bench/) and join its two transaction files into one file.
2. For each repetition: empty the tables the import fills, run `manage.py import_transactions` in a fresh process
   (wall time and that process's peak memory), then COPY the same file into an unindexed table of text columns (wall
   time), so both meet the same machine load. A CHECKPOINT before each makes neither pay for the other's writes.
3. Report medians: lines per second for both, their ratio, the import's peak memory, and the machine's load average.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

NAME = "import"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clientele_bench"
GOAL_LINES_PER_SECOND = 100_000
GOAL_SHARE_OF_COPY = 1 / 3
GOAL_PEAK_MIB = 1024
RAW_COLUMNS = (
    "receipt_id, line, customer_external_id, timestamp, store, channel, sku, product_name, category, quantity, "
    "unit_price, discount"
)
# Run a command and print its peak resident memory (KiB): a fresh parent per run, so the figure is that run's own.
PEAK_WRAPPER = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(r.returncode)"
)


def add_arguments(parser) -> None:
    parser.add_argument("--customers", type=int, default=200_000, help="demo size (200000 gives ~5M receipt lines)")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs (median reported)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--data-dir", type=Path, help="demo files already generated (default var/bench/demo-N)")


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": "", "PRODUCTION": "false"}


# What an import of receipt lines fills (the import batches' register runs go with them). Not `flush`: it would also
# empty the reference data that migrations seed.
IMPORTED_TABLES = "cdp_receiptline, cdp_receipt, cdp_product, cdp_category, cdp_store, cdp_importbatch"


def empty_imported(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {IMPORTED_TABLES} CASCADE")


def settle(url: str) -> None:
    """Write out what the previous step left in the server's buffers (a CHECKPOINT, where the role may), so that the
    import and the raw COPY each start from a quiet server instead of paying for the step before them."""
    with psycopg.connect(url, autocommit=True) as conn, contextlib.suppress(psycopg.errors.InsufficientPrivilege):
        conn.execute("CHECKPOINT")


def _manage(url: str, *args: str) -> None:
    subprocess.run([_python(), "manage.py", *args], cwd=ROOT, env=_env(url), check=True, stdout=subprocess.DEVNULL)


def ensure_database(url: str) -> None:
    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    _manage(url, "migrate", "--no-input")


def input_file(customers: int, folder: Path | None = None) -> tuple[Path, int]:
    """The demo's receipt lines of both sources in one file (cached): (path, data lines)."""
    folder = folder or ROOT / "var" / "bench" / f"demo-{customers}"
    joined = folder / "transactions_all.csv"
    if not joined.exists():
        subprocess.run(
            [_python(), "manage.py", "generate_demo_data", str(folder), "--customers", str(customers)],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with joined.open("w", encoding="utf-8", newline="") as out:
            for index, name in enumerate(("transactions_loyalty.csv", "transactions_eshop.csv")):
                with (folder / name).open(encoding="utf-8", newline="") as handle:
                    header = handle.readline()
                    if index == 0:
                        out.write(header)
                    for line in handle:
                        out.write(line)
    with joined.open("rb") as handle:
        lines = sum(1 for _ in handle) - 1
    return joined, lines


def timed_import(url: str, path: Path) -> tuple[float, float]:
    """(seconds, peak MiB) of one import in a fresh process."""
    command = [_python(), "manage.py", "import_transactions", str(path), "--source", "bench", "--batch-size", "20000"]
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", PEAK_WRAPPER, *command],
        cwd=ROOT,
        env=_env(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if result.returncode not in (0, 1):
        raise RuntimeError(f"import failed: {result.stderr[-2000:]}")
    peak_kib = int(result.stderr.strip().splitlines()[-1])
    return seconds, peak_kib / 1024


def timed_raw_copy(url: str, path: Path) -> float:
    columns = ", ".join(f"{name.strip()} text" for name in RAW_COLUMNS.split(","))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw_lines")
        conn.execute(f"CREATE TABLE bench_raw_lines ({columns})")
        started = time.monotonic()
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY bench_raw_lines FROM STDIN (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        seconds = time.monotonic() - started
        conn.execute("DROP TABLE bench_raw_lines")
    return seconds


def run(args) -> str:
    url = args.database_url
    ensure_database(url)
    path, lines = input_file(args.customers, args.data_dir)
    imports, peaks, copies, loads = [], [], [], []
    for _ in range(args.repeat):
        empty_imported(url)
        settle(url)
        loads.append(os.getloadavg()[0])
        seconds, peak = timed_import(url, path)
        imports.append(seconds)
        peaks.append(peak)
        settle(url)
        copies.append(timed_raw_copy(url, path))
    import_rate = lines / statistics.median(imports)
    copy_rate = lines / statistics.median(copies)
    share = import_rate / copy_rate
    peak = max(peaks)
    pairs = ", ".join(f"{i:.1f} s ÷ {c:.1f} s" for i, c in zip(imports, copies, strict=True))
    return "\n".join(
        [
            "## Receipt-line import (PostgreSQL)",
            "",
            f"{lines:,} receipt lines (demo retailer, {args.customers:,} customers, both sources in one file), "
            f"{args.repeat} runs into emptied receipt tables (so each is a bulk load: indexes dropped and "
            "built again, README.md); machine load average (1 min) at the start of each run: "
            f"{', '.join(f'{load:.1f}' for load in loads)} on {os.cpu_count()} cores.",
            "",
            "| figure | measured (median) | baseline / goal |",
            "|---|---|---|",
            f"| import throughput | {import_rate:,.0f} lines/s ({statistics.median(imports):.1f} s) "
            f"| goal ≥ {GOAL_LINES_PER_SECOND:,} lines/s |",
            f"| raw `COPY` of the same file into an unindexed table | {copy_rate:,.0f} lines/s "
            f"({statistics.median(copies):.1f} s) | the baseline |",
            f"| import ÷ raw COPY | {share:.3f} | goal ≥ {GOAL_SHARE_OF_COPY:.3f} |",
            f"| import peak memory (max of runs) | {peak:,.0f} MiB | goal < {GOAL_PEAK_MIB:,} MiB |",
            "",
            f"Each run, import then raw COPY (a CHECKPOINT before each): {pairs}.",
            "",
            f"Command: `make bench` (or `.venv/bin/python benchmarks/run.py import --customers {args.customers} "
            f"--repeat {args.repeat}`); the database is `BENCH_DATABASE_URL` (default `{DEFAULT_URL}`).",
        ]
    )
