"""The reference data the consent migrations seed, seeded again when its tables are found empty after a migrate.

`manage.py flush` (and the test runner between transactional tests) empties every table, the migrations' data
included, then sends post_migrate: without purposes, channels and register activities, imports would fail to record
their runs. Only empty tables are seeded: a purpose or an activity the DPO deleted on purpose stays deleted.
"""

from __future__ import annotations

import importlib

from django.apps import apps as global_apps

# Each group of tables, with the migration functions that fill it, in the migrations' order (each idempotent).
SEEDS = (
    (
        ("Purpose", "Channel"),
        (
            ("consent.migrations.0002_seed_purposes_and_channels", "seed"),
            ("consent.migrations.0003_data_subject_requests", "mark_direct_marketing"),
            ("consent.migrations.0005_purpose_customer_wording", "word"),
        ),
    ),
    (("ProcessingActivity",), (("consent.migrations.0004_processing_register", "seed"),)),
)


def seed_reference_data(**kwargs) -> list[str]:
    """post_migrate receiver: seed the tables found empty; returns the migration functions that ran."""
    ran = []
    for models, steps in SEEDS:
        if any(global_apps.get_model("consent", name).objects.exists() for name in models):
            continue
        for module, function in steps:
            getattr(importlib.import_module(module), function)(global_apps, None)
            ran.append(f"{module}.{function}")
    return ran
