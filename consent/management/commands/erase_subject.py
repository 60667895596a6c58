"""`erase_subject (--customer UUID | --source NAME --external-id ID) --reason TEXT [--actor USERNAME]`."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from consent.management.subject import add_subject_arguments, find_actor, find_subject
from consent.services.erasure import subject_erase


class Command(BaseCommand):
    help = "Erase a customer through the personal-data registry, suppress their identifiers, print the receipt."

    def add_arguments(self, parser) -> None:
        add_subject_arguments(parser)
        parser.add_argument("--reason", required=True, help="why (e.g. the request's reference); kept on the receipt")
        parser.add_argument("--actor", help="the user the receipt names (default: system)")

    def handle(self, *args, customer=None, source=None, external_id=None, reason: str, actor=None, **options) -> None:
        found = find_subject(customer=customer, source=source, external_id=external_id)
        user = find_actor(actor)
        try:
            receipt = subject_erase(customer=found, reason=reason, actor=user)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages), returncode=1) from exc
        deleted = sum(line["rows"] for line in receipt.summary if line["action"] == "deleted")
        anonymised = sum(line["rows"] for line in receipt.summary if line["action"] == "anonymised")
        self.stdout.write(
            f"erased: receipt {receipt.reference}, {deleted} rows deleted, {anonymised} kept anonymised, "
            f"{receipt.identifiers_suppressed} identifiers suppressed, {receipt.files_deleted} files deleted"
        )
