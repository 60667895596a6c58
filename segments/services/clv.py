"""Lifetime value: BG/NBD for the purchases to come and the probability of being alive, Gamma-Gamma for the spend
per purchase, both fitted on everything before the as-of date (``lifetime``), and the value over the horizon.

From a customer's features as of the date: repeat purchases x = purchase days − 1, age T = days since the first
purchase, t_x = T − days since the last one (in weeks). Gamma-Gamma learns from the customers who bought on two
days or more, their mean spend per purchase day (net of returns). The value over the horizon is discounted monthly
at CLV_ANNUAL_DISCOUNT_RATE. Also: the historic value (net spend so far), the average days between orders and the
expected date of the next order (the last one plus the usual interval, not before the date; none when the customer
is more likely gone than alive or has bought on one day only).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from django.conf import settings
from django.utils import timezone

from cdp.features.compute import FeatureMatrix
from segments.services import lifetime
from segments.services.scoring_base import Context, Fitted, NotEnoughData, Predictions

ALIVE_FOR_NEXT_ORDER = 0.5


def rfm(matrix: FeatureMatrix) -> dict[str, np.ndarray]:
    frequency = matrix.column("frequency")
    tenure = np.maximum(matrix.column("tenure_days"), 0)
    recency = np.clip(matrix.column("recency_days"), 0, tenure)
    unit = lifetime.DAYS_PER_UNIT
    spend = np.where(frequency > 0, np.clip(matrix.column("monetary"), 0, None) / np.maximum(frequency, 1), 0)
    return {
        "x": np.maximum(frequency - 1, 0),
        "t": tenure / unit,
        "tx": (tenure - recency) / unit,
        "frequency": frequency,
        "spend": spend,
        "monetary": matrix.column("monetary"),
        "recency": recency,
        "interval": matrix.column("interval_days"),
    }


def _naive(data: dict, horizon_units: float) -> np.ndarray:
    """The naive forecast: each customer keeps buying at their past repeat rate."""
    return data["x"] / np.maximum(data["t"], 1.0) * horizon_units


def fit(ctx: Context, horizon: int) -> Fitted:
    data = rfm(ctx.scoring)
    repeat = int((data["x"] > 0).sum())
    if repeat < settings.SCORES_MIN_REPEAT_BUYERS:
        raise NotEnoughData(
            f"not enough data for lifetime value: {repeat} customers bought on two days or more before "
            f"{ctx.moment:%Y-%m-%d} ({settings.SCORES_MIN_REPEAT_BUYERS} needed)"
        )
    bgnbd = lifetime.bgnbd_fit(data["x"], data["tx"], data["t"])
    repeaters = data["x"] > 0
    gg = lifetime.gamma_gamma_fit(data["frequency"][repeaters], data["spend"][repeaters])
    units = horizon / lifetime.DAYS_PER_UNIT
    parameters = {
        **bgnbd.as_dict(),
        **gg.as_dict(),
        "time_unit": lifetime.TIME_UNIT,
        "horizon_days": horizon,
        "annual_discount_rate": settings.CLV_ANNUAL_DISCOUNT_RATE,
        "log_likelihood": {"bgnbd": bgnbd.log_likelihood, "gamma_gamma": gg.log_likelihood},
        "repeat_buyers": repeat,
        "currency": ctx.currency,
    }
    metrics: dict = {}
    if ctx.backtest:
        after = ctx.outcomes(ctx.moment, ctx.moment + dt.timedelta(days=horizon))
        actual = np.array([after.purchase_days(c) for c in ctx.scoring.customer_ids], float)
        predicted = lifetime.bgnbd_expected(bgnbd, units, data["x"], data["tx"], data["t"])
        naive = _naive(data, units)
        total = actual.sum() or 1.0
        metrics["backtest"] = {
            "customers": len(actual),
            "actual_purchases": float(actual.sum()),
            "bgnbd": {
                "predicted_purchases": float(predicted.sum()),
                "total_error": float(predicted.sum() / total - 1),
                "mae": float(np.abs(predicted - actual).mean()),
            },
            "naive_same_rate": {
                "predicted_purchases": float(naive.sum()),
                "total_error": float(naive.sum() / total - 1),
                "mae": float(np.abs(naive - actual).mean()),
            },
            "horizon_complete": ctx.horizon_complete(horizon),
        }
    return Fitted(
        algorithm="BG/NBD + Gamma-Gamma (maximum likelihood, scipy)",
        parameters=parameters,
        metrics=metrics,
        artefact={"bgnbd": bgnbd, "gamma_gamma": gg, "horizon_days": horizon},
        customers=len(ctx.scoring.customer_ids),
        training_start=None,
        training_end=ctx.moment,
    )


def predict(artefact: dict, matrix: FeatureMatrix, currency: str, as_of: dt.datetime | None = None) -> Predictions:
    bgnbd, gg = artefact["bgnbd"], artefact["gamma_gamma"]
    data = rfm(matrix)
    units = artefact["horizon_days"] / lifetime.DAYS_PER_UNIT
    expected = lifetime.bgnbd_expected(bgnbd, units, data["x"], data["tx"], data["t"])
    alive = lifetime.bgnbd_p_alive(bgnbd, data["x"], data["tx"], data["t"])
    value = lifetime.clv(
        bgnbd,
        gg,
        data["x"],
        data["tx"],
        data["t"],
        np.where(data["frequency"] >= 2, data["frequency"], 0),
        data["spend"],
        horizon=units,
        annual_discount_rate=settings.CLV_ANNUAL_DISCOUNT_RATE,
        units_per_year=365.25 / lifetime.DAYS_PER_UNIT,
    )
    today = (as_of or timezone.now()).astimezone(timezone.get_default_timezone()).date()
    details = []
    for i in range(len(expected)):
        repeat = data["frequency"][i] >= 2
        next_order = None
        if repeat and alive[i] >= ALIVE_FOR_NEXT_ORDER:
            due = today - dt.timedelta(days=int(data["recency"][i])) + dt.timedelta(days=round(data["interval"][i]))
            next_order = max(due, today).isoformat()
        historic = float(data["monetary"][i])
        details.append(
            {
                "expected_purchases": round(float(expected[i]), 4),
                "p_alive": round(float(alive[i]), 4),
                "historic_value": round(historic, 2),
                "total_value": round(historic + float(value[i]), 2),
                "average_days_between_orders": round(float(data["interval"][i]), 1) if repeat else None,
                "next_order_date": next_order,
            }
        )
    return Predictions(score=np.round(value, 2), band=None, details=details)
