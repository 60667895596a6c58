"""`brief_export CAMPAIGN_ID --out PATH (.csv or .pdf) [--rep USERNAME]`: the sales brief of a launched campaign,
ranked leads with their reasons, contact details only for consented channels; control customers never appear."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Campaign
from campaigns.services.brief_files import brief_csv_lines, brief_pdf
from campaigns.services.briefs import BriefError, brief_create, brief_download_record, brief_generate

FORMATS = (".csv", ".pdf")


class Command(BaseCommand):
    help = "Generate a campaign's sales brief (for one rep, or the whole campaign) and write it as CSV or PDF."

    def add_arguments(self, parser) -> None:
        parser.add_argument("campaign_id")
        parser.add_argument("--out", required=True, type=Path, help="PATH.csv or PATH.pdf")
        parser.add_argument("--rep", help="the sales rep's username (the brief is stored for them)")

    def handle(self, *args, campaign_id: str, out: Path, rep: str | None, **options) -> None:
        if out.suffix.lower() not in FORMATS:
            raise CommandError(f"--out must end in .csv or .pdf, not {out.name!r}", returncode=2)
        campaign = Campaign.objects.filter(pk=int(campaign_id) if campaign_id.isdigit() else 0).first()
        if campaign is None:
            raise CommandError(f"no campaign has the id {campaign_id!r}", returncode=2)
        user = None
        if rep is not None:
            user = get_user_model().objects.filter(username=rep).first()
            if user is None:
                raise CommandError(f"no user is named {rep!r}", returncode=2)
        try:
            brief = brief_create(campaign=campaign, rep=user, start=False)
            brief = brief_generate(brief_id=brief.pk)
            brief_download_record(brief=brief, user=None, format=out.suffix.lower()[1:])
        except BriefError as exc:
            raise CommandError(str(exc), returncode=1) from exc
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.suffix.lower() == ".csv":
                with out.open("w", encoding="utf-8", newline="") as handle:
                    handle.writelines(brief_csv_lines(brief))
            else:
                out.write_bytes(brief_pdf(brief))
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc}", returncode=2) from exc
        left = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in brief.left_out.items() if v) or "none"
        self.stdout.write(
            f"brief {brief.pk} of campaign {campaign.pk}: {brief.lead_count} leads written to {out} "
            f"(left out since the launch: {left}; expires {brief.expires_at:%Y-%m-%d})"
        )
