"""`demo [--customers N]`: generate the demo retailer and run the whole pipeline, saying what each step did."""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cdp.models import Customer
from cdp.pipeline import DemoContext, demo_steps

KEPT = (
    "demo: the database already holds {count} customers: kept as it is (`make demo` or `manage.py demo` builds the "
    "demo again)"
)


class Command(BaseCommand):
    help = "Generate the demo retailer, import it and run every pipeline step the installed apps provide."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--customers", type=int, default=10_000, help="persons in the demo retailer (10000)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (42)")
        parser.add_argument("--data-dir", type=Path, help="where the CSV files go (var/demo)")
        parser.add_argument(
            "--keep-existing",
            action="store_true",
            help="do nothing when the database already holds customers (`make run` keeps the demo it built before)",
        )

    def handle(
        self, *args, customers: int, seed: int, data_dir: Path | None, keep_existing: bool = False, **options
    ) -> None:
        if customers < 1:
            raise CommandError("--customers must be at least 1")
        if keep_existing and (count := Customer.objects.active().count()):
            self.stdout.write(KEPT.format(count=f"{count:,}"))
            return
        data_dir = data_dir or Path(settings.BASE_DIR) / "var" / "demo"
        ctx = DemoContext(data_dir=data_dir, customers=customers, seed=seed, write=self.stdout.write)
        started = time.monotonic()
        steps = demo_steps()
        for step in steps:
            step_started = time.monotonic()
            account = step.run(ctx)
            self.stdout.write(f"{step.name}: {account} ({time.monotonic() - step_started:.1f}s)")
        self.stdout.write(
            f"demo: {customers} customers, {len(steps)} steps ({', '.join(s.name for s in steps)}) "
            f"in {time.monotonic() - started:.1f}s"
        )
