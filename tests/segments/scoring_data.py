"""A retailer to score: the five-behaviour retailer (cdp.demo.behaviours) imported through the commands, and the
settings that let a test-sized retailer be scored (the product's defaults ask for 500 buyers)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cdp.demo import behaviours
from tests.cdp.importing import run_command

PER_PERSONA = 40
END = dt.date(2025, 12, 31)


def small_retailer_settings(settings) -> None:
    settings.SCORES_MIN_BUYERS = 100
    settings.SCORES_MIN_REPEAT_BUYERS = 20
    settings.SCORES_FIT_SAMPLE = 50_000


def write_retailer(folder: Path, per_persona: int = PER_PERSONA, seed: int = 21) -> behaviours.Files:
    return behaviours.write(folder, per_persona=per_persona, seed=seed, end=END)


def import_retailer(files: behaviours.Files, source: str = "crm") -> None:
    for command, path in (
        ("import_customers", files.customers),
        ("import_consents", files.consents),
        ("import_transactions", files.transactions),
    ):
        code, out = run_command(command, path, source)
        assert code == 0, out
