"""A result's report as people read it: percentages, money with its currency, intervals, verdicts in words."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

VERDICTS = {
    "better": _("better than control"),
    "worse": _("worse than control"),
    "no_significant_difference": _("no significant difference"),
    "inconclusive": _("inconclusive: too few customers"),
}
METRICS = (
    ("conversion", "conversion", "conversion_ci", _("Conversion"), "percent"),
    ("revenue_per_customer", "revenue_per_customer", "revenue_per_customer_ci", _("Revenue per customer"), "money"),
    ("average_basket", "average_basket", "average_basket_ci", _("Average basket"), "money"),
)


def _value(value: Any, kind: str, currency: str, signed: bool = False) -> str:
    if value is None:
        return "—"
    if kind == "percent":
        return f"{value:+.1%}" if signed else f"{value:.1%}"
    return (f"{value:+,.2f}" if signed else f"{value:,.2f}") + f" {currency}"


def _interval(ci, kind: str, currency: str, signed: bool = False) -> str:
    if not ci:
        return ""
    return f"[{_value(ci[0], kind, currency, signed)} ; {_value(ci[1], kind, currency, signed)}]"


def comparison_rows(block: dict, currency: str, *, a: str = "treatment", b: str = "control") -> list[dict]:
    """One row per metric: each group's value with its interval, the difference with its interval, the verdict."""
    rows = []
    for key, value_key, ci_key, label, kind in METRICS:
        uplift = block["uplift"][key]
        rows.append(
            {
                "metric": label,
                "a": _value(block[a].get(value_key), kind, currency),
                "a_ci": _interval(block[a].get(ci_key), kind, currency),
                "b": _value(block[b].get(value_key), kind, currency),
                "b_ci": _interval(block[b].get(ci_key), kind, currency),
                "difference": _value(uplift["difference"], kind, currency, signed=True),
                "difference_ci": _interval(uplift["ci"], kind, currency, signed=True),
                "relative": "—" if uplift.get("relative") is None else f"{uplift['relative']:+.1%}",
                "p_value": "—" if uplift.get("p_value") is None else f"{uplift['p_value']:.3f}",
                "verdict": VERDICTS.get(uplift["verdict"], uplift["verdict"]),
                "verdict_key": uplift["verdict"],
            }
        )
    return rows


def report_tables(report: dict) -> dict:
    currency = report.get("currency", "")
    overall = report["overall"]
    tables = {
        "overall": {
            "treatment": overall["treatment"]["customers"],
            "control": overall["control"]["customers"],
            "rows": comparison_rows(overall, currency),
        },
        "segments": [
            {
                "name": segment["segment"],
                "treatment": segment["treatment"]["customers"],
                "control": segment["control"]["customers"],
                "small": segment["uplift"]["small_group"],
                "rows": comparison_rows(segment, currency),
            }
            for segment in report["segments"]
        ],
        "arms": [],
    }
    for arm in report.get("arms") or []:
        block = {"treatment": arm["treatment"], "control": overall["control"], "uplift": arm["uplift"]}
        tables["arms"].append({"name": arm["arm"], "rows": comparison_rows(block, currency)})
    versus = report.get("arm_vs_arm")
    if versus:
        arms = {arm["arm"]: arm["treatment"] for arm in report["arms"]}
        block = {"treatment": arms[versus["a"]], "control": arms[versus["b"]], "uplift": versus}
        tables["versus"] = {"a": versus["a"], "b": versus["b"], "rows": comparison_rows(block, currency)}
    return tables
