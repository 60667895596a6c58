"""A retailer for the campaign tests: five behaviours (cdp.demo.behaviours), segmented, with mixed consent histories
(grants, withdrawals, other purposes, other channels, purpose-wide grants), objections, restrictions, erasures and a
suppressed address, imported as a user would."""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

from cdp.demo import behaviours
from cdp.models import Customer, SourceRecord
from consent.services.erasure import subject_erase
from consent.services.restriction import objection_record, restriction_apply
from consent.services.suppression import suppression_add
from segments.services.clustering import segmentation_run_create, segmentation_run_execute
from tests.cdp.importing import run_command

PURPOSE, CHANNEL = "email_marketing", "email"
HISTORIES = (
    "granted",  # a grant for the purpose on the channel
    "granted_then_withdrawn",
    "withdrawn_then_granted",
    "other_channel",  # a grant for the purpose by sms only
    "other_purpose",  # a grant of sales_contact by e-mail
    "purpose_wide",  # a grant for the purpose, no channel named
    "none",
)


@dataclass
class Retailer:
    files: behaviours.Files
    histories: dict[str, str]  # external id -> history
    objected: list
    restricted: list
    erased_external_ids: list[str]
    suppressed: list

    def customer(self, external_id: str) -> Customer:
        return SourceRecord.objects.get(external_id=external_id).customer


def _consent_rows(external_ids: list[str], rng: random.Random) -> tuple[list[tuple], dict[str, str]]:
    rows, histories = [], {}
    first, later = "2026-01-10T10:00:00+01:00", "2026-03-10T10:00:00+01:00"
    for external_id in external_ids:
        history = rng.choice(HISTORIES)
        histories[external_id] = history

        def row(purpose, channel, status, when, _id=external_id):
            return (_id, purpose, channel, status, when, "web", "1")

        if history == "granted":
            rows.append(row(PURPOSE, CHANNEL, "granted", first))
        elif history == "granted_then_withdrawn":
            rows += [row(PURPOSE, CHANNEL, "granted", first), row(PURPOSE, CHANNEL, "withdrawn", later)]
        elif history == "withdrawn_then_granted":
            rows += [row(PURPOSE, CHANNEL, "withdrawn", first), row(PURPOSE, CHANNEL, "granted", later)]
        elif history == "other_channel":
            rows.append(row(PURPOSE, "sms", "granted", first))
        elif history == "other_purpose":
            rows.append(row("sales_contact", CHANNEL, "granted", first))
        elif history == "purpose_wide":
            rows.append(row(PURPOSE, "", "granted", first))
    return rows, histories


def build(folder: Path, *, per_persona: int = 40, seed: int = 11, k: int = 5) -> Retailer:
    files = behaviours.write(folder, per_persona=per_persona, seed=seed)
    for command, path in (
        ("import_customers", files.customers),
        ("import_consents", files.consents),
        ("import_transactions", files.transactions),
    ):
        code, out = run_command(command, path, "crm")
        assert code == 0, out
    rng = random.Random(seed)
    external_ids = sorted(files.truth)
    rows, histories = _consent_rows(external_ids, rng)
    path = folder / "marketing_consents.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(behaviours.CONSENT_COLUMNS)
        writer.writerows(rows)
    code, out = run_command("import_consents", path, "crm")
    assert code == 0, out
    run = segmentation_run_execute(run_id=segmentation_run_create(k=k).pk)
    assert run.status == run.Status.SUCCEEDED, run.message
    granted = [e for e in external_ids if histories[e] in ("granted", "withdrawn_then_granted", "purpose_wide")]
    picks = rng.sample(granted, 12)

    def customer(external_id):
        return SourceRecord.objects.get(external_id=external_id).customer

    objected = [customer(e) for e in picks[0:3]]
    for person in objected:
        objection_record(customer=person, scope="direct_marketing", occurred_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    restricted = [customer(e) for e in picks[3:6]]
    for person in restricted:
        restriction_apply(customer=person, reason="accuracy contested")
    erased = picks[6:9]
    for external_id in erased:
        subject_erase(customer=customer(external_id), reason="test erasure")
    suppressed = [customer(e) for e in picks[9:12]]
    suppression_add(identifiers=[("email", person.email) for person in suppressed])
    return Retailer(files, histories, objected, restricted, erased, suppressed)
