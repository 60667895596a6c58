"""The 360° profile's churn-risk and lifetime-value panels: what the active model versions say of one customer.

Both panels read one cached answer per customer (``scores_of_customer``): the page's query count grows by two.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from cdp.money import format_minor, to_minor

CHURN_TEMPLATE = "segments/panel_churn.html"
VALUE_TEMPLATE = "segments/panel_value.html"
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
