"""Helpers for the import tests: write a CSV file, run an import command as a user would, read its errors file."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

from django.core.management import CommandError, call_command

# The receipt-line columns of DESIGN.md's import_transactions contract, and one line of a receipt in that shape.
TRANSACTIONS_HEADER = (
    "receipt_id,line,customer_external_id,timestamp,store,channel,sku,product_name,category,quantity,"
    "unit_price,discount"
)


def receipt_line(receipt: str, line: int, sku: str, quantity: int) -> str:
    return f"{receipt},{line},,2025-03-14T10:23:00+01:00,S1,store,{sku},Pain,bakery,{quantity},2.00,0"


def write(path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def run_command(command: str, path: Path, source: str, **options) -> tuple[int, str]:
    """(exit code, what the command printed and the error it raised)."""
    out = StringIO()
    try:
        call_command(command, str(path), source=source, stdout=out, **options)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    except SystemExit as exc:  # a partial import: its summary is printed, the status says it
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def read_errors(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
