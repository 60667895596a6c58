"""`uplift_report CAMPAIGN_ID --report PATH.json`: treatment against control per segment and overall (customers,
conversion, revenue per customer, average basket, each with its 95% confidence interval), and arm against arm."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Campaign
from campaigns.services.audience import AudienceError
from campaigns.services.outcomes import uplift_compute


class Command(BaseCommand):
    help = "Measure a campaign's uplift against its control group and write the report (JSON)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("campaign_id")
        parser.add_argument("--report", required=True, type=Path, help="PATH.json")

    def handle(self, *args, campaign_id: str, report: Path, **options) -> None:
        campaign = Campaign.objects.filter(pk=int(campaign_id) if campaign_id.isdigit() else 0).first()
        if campaign is None:
            raise CommandError(f"no campaign has the id {campaign_id!r}", returncode=2)
        try:
            result = uplift_compute(campaign=campaign)
        except AudienceError as exc:
            raise CommandError(str(exc), returncode=1) from exc
        try:
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(json.dumps(result.report, indent=2, ensure_ascii=False), encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {report}: {exc}", returncode=2) from exc
        overall = result.report["overall"]
        conversion = overall["uplift"]["conversion"]
        revenue = overall["uplift"]["revenue_per_customer"]
        self.stdout.write(
            f"campaign {campaign.pk}: treatment {overall['treatment']['customers']} vs control "
            f"{overall['control']['customers']}; conversion {overall['treatment']['conversion']:.1%} vs "
            f"{overall['control']['conversion']:.1%} ({conversion['verdict'].replace('_', ' ')}, "
            f"p={_p(conversion['p_value'])}); revenue per customer {revenue['difference']:+.2f} "
            f"{result.report['currency']} ({revenue['verdict'].replace('_', ' ')}); report {report}"
        )


def _p(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
