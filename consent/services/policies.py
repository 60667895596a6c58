"""Writes of the consent app: publishing the wording of a purpose as a new, never-edited version."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from consent.models import PolicyVersion, Purpose


def policy_version_publish(
    *, purpose: Purpose, version: str, text: str, published_at: dt.datetime | None = None
) -> PolicyVersion:
    """A new version of a purpose's wording. Raises ValidationError when the version already exists (no edit)."""
    policy = PolicyVersion(
        purpose=purpose, version=version.strip(), text=text, published_at=published_at or timezone.now()
    )
    policy.full_clean()
    policy.save()
    return policy
