"""`campaign_launch --name NAME --purpose KEY --channel KEY [--segment NAME]... [--min-score FIELD=X]...
[--control-share 0.1] [--seed N]`: build the audience, freeze it, draw the control group.

The first line of output is the campaign's id alone; then the customers left out, by reason; then a summary.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from campaigns.services.audience import REASON_LABELS, REASONS, AudienceError, segments_by_name
from campaigns.services.launch import campaign_create, campaign_launch
from consent.selectors import ConsentLookupError


def _score(value: str) -> tuple[str, float]:
    name, sep, number = value.partition("=")
    try:
        if not sep or not name.strip():
            raise ValueError
        return name.strip(), float(number)
    except ValueError as exc:
        raise CommandError(f"--min-score takes FIELD=NUMBER, not {value!r}", returncode=2) from exc


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{option} must be a date (YYYY-MM-DD), not {value!r}", returncode=2) from exc


class Command(BaseCommand):
    help = "Launch a campaign: its audience (consent, suppression, contact pressure), frozen, with a control group."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--purpose", required=True, help="a purpose key (email_marketing, sales_contact, ...)")
        parser.add_argument("--channel", required=True, help="a channel key (email, sms, phone, post, store, ...)")
        parser.add_argument("--segment", action="append", default=[], help="a segment's name (repeatable)")
        parser.add_argument("--min-score", action="append", default=[], help="FIELD=X, e.g. churn_probability=0.5")
        parser.add_argument("--control-share", type=float, default=0.1)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--starts-on", help="first day of the window (YYYY-MM-DD; default today)")
        parser.add_argument("--ends-on", help="last day of the window (default 13 days later)")
        parser.add_argument("--offer", default="", help="the offer when no decision rule is defined")
        parser.add_argument("--objective", default="")

    def handle(self, *args, **options) -> None:
        if not 0 <= options["control_share"] <= 0.9:
            raise CommandError("--control-share must be between 0 and 0.9", returncode=2)
        if options["seed"] < 0:
            raise CommandError("--seed must be 0 or more", returncode=2)
        min_scores = dict(_score(value) for value in options["min_score"])
        try:
            with transaction.atomic():
                target: dict = {}
                segments = segments_by_name(options["segment"])
                if segments:
                    target["segments"] = [segment.pk for segment in segments]
                if min_scores:
                    target["min_scores"] = min_scores
                campaign = campaign_create(
                    name=options["name"],
                    purpose=options["purpose"],
                    channel=options["channel"],
                    starts_on=_date(options["starts_on"], "--starts-on"),
                    ends_on=_date(options["ends_on"], "--ends-on"),
                    objective=options["objective"],
                    target=target,
                    control_share=options["control_share"],
                    seed=options["seed"],
                    default_offer=options["offer"],
                )
                result = campaign_launch(campaign=campaign)
        except (AudienceError, ConsentLookupError) as exc:
            raise CommandError(str(exc), returncode=1) from exc
        self.stdout.write(str(result.campaign.pk))
        for reason in REASONS:
            self.stdout.write(f"left out, {REASON_LABELS[reason]}: {result.excluded.get(reason, 0)}")
        self.stdout.write(
            f"campaign {result.campaign.pk} launched: {result.matched} matched, {result.treatment + result.control} "
            f"in the audience ({result.treatment} treatment, {result.control} control, seed {result.campaign.seed}); "
            f"{result.seconds:.1f}s"
        )
