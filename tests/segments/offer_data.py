"""A retailer with a past campaign to learn offer response from: the five-behaviour retailer (cdp.demo.behaviours),
every customer agreeing to marketing e-mails, a campaign to all with half held out, and the members' purchases in its
window drawn from a known truth: bargain hunters buy far more when offered, the others the same either way."""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from campaigns.models import AudienceMember, Campaign
from campaigns.services.launch import campaign_create, campaign_launch
from cdp.demo.behaviours import LINE_COLUMNS, Files
from cdp.models import SourceRecord
from tests.campaigns.retailer import CHANNEL, PURPOSE
from tests.cdp.importing import run_command
from tests.segments.scoring_data import END, import_retailer, small_retailer_settings

START = END + dt.timedelta(days=1)
DAYS = 14
# persona -> chance of buying in the window (offered, not offered)
CHANCES = {"bargain_hunter": (0.9, 0.1)}
OTHERS = (0.35, 0.35)
CAMPAIGN = "New year offer"


def _email_consents(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["customer_external_id", "purpose", "channel", "status", "timestamp", "source", "policy_version"]
        )
        for external_id in SourceRecord.objects.values_list("external_id", flat=True):
            writer.writerow([external_id, PURPOSE, CHANNEL, "granted", "2025-01-02T09:00:00+01:00", "web", "1"])


def _respond(path: Path, campaign: Campaign, truth: dict[str, str], seed: int = 5) -> None:
    """Each member buys in the window with their persona's chance for their group."""
    rng = random.Random(seed)
    groups = dict(AudienceMember.objects.filter(campaign=campaign).values_list("customer_id", "group"))
    rows = []
    for external_id, customer in SourceRecord.objects.values_list("external_id", "customer_id"):
        if customer not in groups:
            continue
        offered, not_offered = CHANCES.get(truth[external_id], OTHERS)
        if rng.random() < (offered if groups[customer] == AudienceMember.Group.TREATMENT else not_offered):
            moment = dt.datetime.combine(START + dt.timedelta(days=rng.randrange(DAYS)), dt.time(18), dt.UTC)
            rows.append((f"C{len(rows):06d}", 1, external_id, moment.isoformat(), "S1", "store", "GROC-001",
                         "grocery item", "grocery", 1, "12.00", "0.00"))  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LINE_COLUMNS)
        writer.writerows(rows)


def build_responded(files: Files, settings, folder: Path) -> Campaign:
    """Import the retailer, launch the campaign and import its response; returns the campaign."""
    small_retailer_settings(settings)
    settings.OFFER_RESPONSE_MIN_GROUP = 40
    import_retailer(files)
    _email_consents(folder / "email.csv")
    assert run_command("import_consents", folder / "email.csv", "crm")[0] == 0
    campaign = campaign_create(
        name=CAMPAIGN, purpose=PURPOSE, channel=CHANNEL, starts_on=START, ends_on=START + dt.timedelta(days=DAYS - 1),
        control_share=0.5, seed=3, default_offer="-10% voucher",
    )  # fmt: skip
    campaign_launch(campaign=campaign)
    _respond(folder / "response.csv", campaign, files.truth)
    assert run_command("import_transactions", folder / "response.csv", "crm")[0] == 0
    return campaign
