"""Writes the demo retailer's CSV files (customers, receipts, interactions, consents) and their ground truth."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cdp.demo.generator import DEFAULT_END_DATE, MIN_END_DATE, generate


class Command(BaseCommand):
    help = (
        "Generate the demo retailer into OUTDIR: customers_{crm,eshop,loyalty}.csv, transactions_{loyalty,eshop}.csv, "
        "events_{eshop,crm}.csv, consents_{crm,eshop}.csv and truth/. The same arguments always give the same files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("outdir", help="folder to write into (created if missing; existing files are replaced)")
        parser.add_argument("--customers", type=int, default=10_000, help="number of persons (default 10000)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument(
            "--end-date",
            default=DEFAULT_END_DATE.isoformat(),
            help=f"last day of the two years covered, YYYY-MM-DD (default {DEFAULT_END_DATE.isoformat()})",
        )
        parser.add_argument(
            "--noise",
            type=float,
            default=1.0,
            help="scale of identity variations between sources (default 1.0; 2.0 doubles every error rate; 0 none)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        customers: int = options["customers"]
        noise: float = options["noise"]
        if customers < 1:
            raise CommandError(f"--customers must be at least 1, got {customers}.")
        if not math.isfinite(noise) or noise < 0:
            raise CommandError(f"--noise must be a number >= 0, got {noise}.")
        end_date = _parse_end_date(options["end_date"])
        outdir = Path(options["outdir"])
        if outdir.exists() and not outdir.is_dir():
            raise CommandError(f"{outdir} exists and is not a folder.")
        summary = generate(
            outdir,
            customers=customers,
            seed=options["seed"],
            end_date=end_date,
            noise=noise,
            progress=self._progress if self.stderr.isatty() else None,
        )
        self.stdout.write(summary.line())

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"\r{done}/{total} persons", ending="\n" if done == total else "")
        self.stderr.flush()


def _parse_end_date(text: str) -> date:
    try:
        end_date = date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--end-date must be a date as YYYY-MM-DD, got {text!r}.") from error
    if end_date < MIN_END_DATE:
        raise CommandError(f"--end-date must be {MIN_END_DATE.isoformat()} or later, got {text}.")
    return end_date
