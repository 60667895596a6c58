"""Past campaigns as the offer-response model reads them (``segments.services.offers``): kept apart, without the
learning libraries, so that the apps that run campaigns register their source at start-up cheaply."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

NO_CAMPAIGN = "no campaign with a control group has ended before this date"


@dataclass(frozen=True)
class OfferHistory:
    """One past campaign: its window [start, end) and, per customer of its audience, whether they were offered."""

    name: str
    start: dt.datetime
    end: dt.datetime
    offered: dict[uuid.UUID, bool]


_providers: list[Callable[[dt.datetime], list[OfferHistory]]] = []


def offer_history_provider(provider: Callable[[dt.datetime], list[OfferHistory]]) -> None:
    """Register a source of past campaigns (called from an app's ready()); registering twice is harmless."""
    if provider not in _providers:
        _providers.append(provider)


def offer_histories(before: dt.datetime) -> list[OfferHistory]:
    """The latest OFFER_RESPONSE_CAMPAIGNS campaigns whose window ended before `before`, oldest first."""
    found = [history for provider in _providers for history in provider(before) if history.end <= before]
    found.sort(key=lambda history: (history.start, history.name))
    return found[-settings.OFFER_RESPONSE_CAMPAIGNS :] if settings.OFFER_RESPONSE_CAMPAIGNS > 0 else []
