"""Start-up of the profile (called from CdpConfig.ready()): its demo step, the consents panel and the empty slots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from cdp.models import Customer
from cdp.pipeline import DemoContext, register_demo_step
from cdp.profile.panels import register_profile_panel
from cdp.profile.search import customers_refresh_search_keys
from consent.selectors import consent_history

CONSENTS_TEMPLATE = "cdp/profile/panel_consents.html"
CONSENT_HISTORY_SHOWN = 20  # the latest events on the profile; the ledger's admin lists them all
PLACEHOLDER_TEMPLATE = "cdp/profile/panel_placeholder.html"
NOT_COMPUTED = "not_computed"

# Slots that later apps fill by registering a panel with the same key: (key, title, order).
SLOTS = (
    ("segment", _("Segment"), 20),
    ("churn_risk", _("Churn risk"), 30),
    ("lifetime_value", _("Lifetime value"), 40),
    ("next_best_products", _("Next best products"), 50),
    ("life_moments", _("Life moments"), 60),
)


@dataclass(frozen=True)
class ConsentRow:
    purpose: str
    channel: str
    status: str
    granted: bool
    occurred_at: datetime | None
    captured_via: str
    policy_version: str
    purpose_name: str = ""
    channel_name: str = ""

    def as_dict(self) -> dict[str, Any]:
        occurred = self.occurred_at.isoformat() if self.occurred_at else None
        return {
            "purpose": self.purpose,
            "purpose_name": self.purpose_name,
            "channel": self.channel or None,
            "channel_name": self.channel_name or None,
            "status": self.status,
            "granted": self.granted,
            "occurred_at": occurred,
            "captured_via": self.captured_via,
            "policy_version": self.policy_version,
        }


def search_index_step(ctx: DemoContext) -> str:
    return f"search keys computed for {customers_refresh_search_keys()} customers"


def consent_state_reader() -> Callable[..., dict] | None:
    """consent.selectors.consent_current_state(*, customer_ids) when the consent app provides it, else None."""
    from consent import selectors

    return getattr(selectors, "consent_current_state", None)


def consent_rows(reader: Callable[..., dict], customer: Customer) -> list[ConsentRow]:
    """The customer's current consent per (purpose, channel), by purpose then channel."""
    rows = [
        ConsentRow(
            purpose=purpose,
            channel=channel or "",
            status=state.status,
            granted=getattr(state, "granted", state.status == "granted"),
            occurred_at=getattr(state, "occurred_at", None),
            captured_via=getattr(state, "captured_via", ""),
            policy_version=getattr(state, "policy_version", ""),
            purpose_name=getattr(state, "purpose_name", "") or purpose,
            channel_name=getattr(state, "channel_name", "") or (channel or ""),
        )
        for (customer_id, purpose, channel), state in reader(customer_ids=[customer.pk]).items()
        if customer_id == customer.pk
    ]
    return sorted(rows, key=lambda row: (row.purpose, row.channel))


def register_consents_panel() -> None:
    """The consents panel reads the consent app's selector when it exists; otherwise it says none are recorded."""
    reader = consent_state_reader()

    def context(customer: Customer) -> dict:
        # The customer's id lets staff with the permission get the customer's preference link from the panel.
        history, older = consent_history(customer_id=customer.pk, limit=CONSENT_HISTORY_SHOWN)
        return {
            "consents": consent_rows(reader, customer) if reader else [],
            "history": history,
            "older_history": older,
            "customer_id": customer.pk,
        }

    def api(customer: Customer) -> dict:
        return {"consents": [row.as_dict() for row in consent_rows(reader, customer)] if reader else []}

    register_profile_panel(
        key="consents", title=_("Consents"), order=10, template=CONSENTS_TEMPLATE, context=context, api=api
    )


def _placeholder_context(customer: Customer) -> dict:
    return {}


def _placeholder_api(customer: Customer) -> dict:
    return {"status": NOT_COMPUTED}


def register() -> None:
    register_demo_step(90, "search-index", search_index_step)
    register_consents_panel()
    for key, title, order in SLOTS:
        register_profile_panel(
            key=key,
            title=title,
            order=order,
            template=PLACEHOLDER_TEMPLATE,
            context=_placeholder_context,
            api=_placeholder_api,
            placeholder=True,
        )
