"""The 360° profile's churn-risk, lifetime-value and propensity panels: what the active model versions say of one
customer.

The panels read one cached answer per customer (``scores_of_customer``), and the propensity panel its categories'
names: the page's query count grows by three.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from cdp.money import format_minor, to_minor

CHURN_TEMPLATE = "segments/panel_churn.html"
VALUE_TEMPLATE = "segments/panel_value.html"
PROPENSITY_TEMPLATE = "segments/panel_propensity.html"
CATEGORY_PREFIX = "purchase_probability_"
TOP_CATEGORIES = 3
OFFER_CHANGES_LITTLE = 0.02  # an offer adding less than two points to the chance of buying changes little
_CACHE = "_segments_scores"


def _scores(customer) -> dict:
    cached = getattr(customer, _CACHE, None)
    if cached is None:
        from segments.selectors import scores_of_customer

        cached = scores_of_customer(customer)
        setattr(customer, _CACHE, cached)
    return cached


def _money(value: float | None) -> str:
    if value is None:
        return ""
    currency = settings.CLIENTELE_CURRENCY
    return format_minor(to_minor(Decimal(str(round(value, 2))), currency), currency)


def churn_panel_context(customer) -> dict:
    return {"found": _scores(customer)["churn"]}


def value_panel_context(customer) -> dict:
    found = dict(_scores(customer)["clv"])
    figures = found.get("figures") or {}
    if figures:
        found["money"] = {key: _money(figures.get(key)) for key in ("historic_value", "expected_value", "total_value")}
    return {"found": found}


def propensity_panel_context(customer) -> dict:
    """The chance of buying, the categories most likely bought (by their names) and the response to an offer."""
    from cdp.models import Category

    found = dict(_scores(customer)["propensity"])
    figures = found.get("figures") or {}
    if figures:
        chances = sorted(
            ((key[len(CATEGORY_PREFIX) :], value) for key, value in figures.items() if key.startswith(CATEGORY_PREFIX)),
            key=lambda item: -item[1],
        )[:TOP_CATEGORIES]
        names = dict(Category.objects.filter(key__in=[key for key, _ in chances]).values_list("key", "name"))
        found["categories"] = [{"name": names.get(key, key), "probability": value} for key, value in chances]
        uplift = figures.get("offer_uplift")
        if uplift is not None:
            found["offer"] = {
                "offered": figures["offered_purchase_probability"],
                "not_offered": figures["not_offered_purchase_probability"],
                "points": abs(round(uplift * 100)),
                "effect": "little" if abs(uplift) < OFFER_CHANGES_LITTLE else "adds" if uplift > 0 else "puts_off",
            }
    return {"found": found}


def _api(found: dict) -> dict:
    out = {"status": found["status"]}
    if found.get("message"):
        out["message"] = found["message"]
    if found["status"] == "scored":
        figures = dict(found["figures"])
        if figures.get("next_order_date") is not None:
            figures["next_order_date"] = figures["next_order_date"].isoformat()
        out |= {
            "model_version": found["version"],
            "scored_at": found["scored_at"].isoformat(),
            "horizon_days": found["horizon_days"],
            **figures,
        }
    return out


def churn_panel_api(customer) -> dict:
    return _api(_scores(customer)["churn"])


def value_panel_api(customer) -> dict:
    return _api(_scores(customer)["clv"])


def propensity_panel_api(customer) -> dict:
    return _api(_scores(customer)["propensity"])
