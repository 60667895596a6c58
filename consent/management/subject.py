"""What the data-subject commands share: finding the customer by id or by a source's external id, and the actor."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from consent.registry import subject_model

NOT_FOUND = "no customer matches"
USER_NOT_FOUND = "no active user named"
CHOOSE_ONE = "give --customer UUID, or --source NAME with --external-id ID"


def add_subject_arguments(parser) -> None:
    parser.add_argument("--customer", help="the customer's id (UUID)")
    parser.add_argument("--source", help="the source's key, with --external-id")
    parser.add_argument("--external-id", dest="external_id", help="the customer's id in that source")


def find_subject(*, customer: str | None, source: str | None, external_id: str | None):
    """The customer named on the command line; CommandError (exit 2) when it cannot be found."""
    model = subject_model()
    if customer and not (source or external_id):
        try:
            found = model._default_manager.filter(pk=customer).first()
        except ValidationError:  # not a UUID
            found = None
    elif source and external_id and not customer:
        found = model._default_manager.filter(
            source_records__source__key=source, source_records__external_id=external_id
        ).first()
    else:
        raise CommandError(CHOOSE_ONE, returncode=2)
    if found is None:
        raise CommandError(NOT_FOUND, returncode=2)  # the id is not echoed: it may be personal data
    return found


def find_actor(username: str | None):
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"{USER_NOT_FOUND} {username!r}", returncode=2)
    return user
