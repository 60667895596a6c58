"""The shared shape of the import commands: options for real exports, exit codes 0 / 1 / 2, a progress bar."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cdp.ingest.reader import parse_mapping
from cdp.ingest.service import import_file
from cdp.ingest.types import FileUnusable, ImportOptions

EXIT_REJECTED = 1
EXIT_UNUSABLE = 2


class ImportCommand(BaseCommand):
    kind = ""
    # The system checks (URLs, admin, templates) say nothing about a file, and cost a fifth of a second at every run:
    # imports run from cron and tasks many times a day. `check`, `migrate` and `runserver` run them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="CSV file with a header row")
        parser.add_argument("--source", required=True, help="Name of the source system (e.g. crm, eshop, loyalty)")
        parser.add_argument("--errors", type=Path, help="Write rejected rows with their row number and reasons here")
        parser.add_argument("--delimiter", default=",", help="Column separator (default ,)")
        parser.add_argument("--encoding", default="utf-8", help="utf-8 (default), latin-1, cp1252, ...")
        parser.add_argument("--decimal-comma", action="store_true", help="Decimals are written 12,50")
        parser.add_argument("--date-format", help="strftime format of dates and timestamps (default ISO 8601)")
        parser.add_argument("--map", dest="mapping", help='"File column=field,Other column=field"')
        parser.add_argument(
            "--batch-size", type=int, help="Rows written per transaction (default 20,000 for customers, else 5,000)"
        )

    def handle(self, *args, **opts) -> None:
        delimiter = opts["delimiter"].replace("\\t", "\t")
        try:
            options = ImportOptions(
                delimiter=delimiter,
                encoding=opts["encoding"],
                decimal_comma=opts["decimal_comma"],
                date_format=opts["date_format"],
                mapping=parse_mapping(opts["mapping"]),
                batch_size=max(1, opts["batch_size"]) if opts["batch_size"] else None,
            )
            with _Progress(enabled=sys.stderr.isatty() and opts["verbosity"] > 0) as progress:
                result = import_file(
                    kind=self.kind,
                    path=opts["path"],
                    source_key=opts["source"],
                    options=options,
                    errors_path=opts["errors"],
                    progress=progress.update,
                )
        except FileUnusable as exc:
            raise CommandError(f"{opts['path']}: {exc}", returncode=EXIT_UNUSABLE) from exc
        self.stdout.write(result.summary())
        if result.rejected:
            # A partial import is an outcome, not a crash: a plain line and exit status 1 (DESIGN.md), no traceback.
            self.stdout.write(rejected_line(result.rejected, opts["errors"]))
            sys.exit(EXIT_REJECTED)


def rejected_line(rejected: int, errors: Path | None) -> str:
    rows = "1 row was" if rejected == 1 else f"{rejected:,} rows were"
    if errors:
        return f"{rows} refused and the others kept; {errors} lists them in file order, with the reasons."
    return f"{rows} refused and the others kept; --errors PATH lists them, with the reasons."


class _Progress:
    """A tqdm bar over the file's bytes, only on a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.last = 0

    def __enter__(self) -> _Progress:
        return self

    def update(self, position: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="B", unit_scale=True, file=sys.stderr, leave=False)
        self.bar.update(max(0, position - self.last))
        self.last = position

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
