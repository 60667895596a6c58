"""Response to an offer, learnt from past campaigns' control groups: the probability that a customer buys in a
campaign's window when offered (the campaign's treatment group) and when not (its control group, never contacted),
and their difference, what the offer adds for that customer. A discount then goes to whom it changes, not to whom
would buy anyway.

1. The histories come from the apps that run campaigns (``offer_history_provider``): each launched campaign with a
   control group whose window ended before the as-of moment, with its members' group; the latest
   OFFER_RESPONSE_CAMPAIGNS of them.
2. Each member's features as of the campaign's first day (nothing later is read); the label is a purchase in the
   window. Members who had never bought before the window are left out, as every score leaves them out.
3. The two-model method: one regularised logistic regression per group, on signed-log, standardised features (control
   groups are small; a shallow, regularised model is what they support). A quarter of each group is held out: the
   ROC-AUC of each model in its own group, and the uplift actually observed among the held-out customers ranked by
   predicted uplift (the top half's treatment-minus-control conversion against the bottom half's).
4. Not estimated, and the version says why, when there is no such campaign or a group has fewer than
   OFFER_RESPONSE_MIN_GROUP customers or fewer than MIN_OUTCOMES buyers or non-buyers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sklearn.pipeline import Pipeline

from django.conf import settings

from segments.offer_history import NO_CAMPAIGN, offer_histories
from segments.services import learning

OFFERED = "offered_purchase_probability"
NOT_OFFERED = "not_offered_purchase_probability"
UPLIFT = "offer_uplift"
FIELDS = (OFFERED, NOT_OFFERED, UPLIFT)
MIN_OUTCOMES = 10


@dataclass
class OfferRows:
    x: np.ndarray
    offered: np.ndarray  # bool
    bought: np.ndarray  # int
    campaigns: list[dict]


def offer_rows(ctx, names: list[str], before: dt.datetime) -> OfferRows | str:
    """Every past campaign's members as rows (features as of its start, offered, bought in its window), or why not."""
    histories = offer_histories(before)
    if not histories:
        return NO_CAMPAIGN
    xs, offered, bought, campaigns = [], [], [], []
    for history in histories:
        matrix = ctx.features_at(history.start)
        after = ctx.outcomes(history.start, history.end)
        rows = [i for i, customer in enumerate(matrix.customer_ids) if customer in history.offered]
        if not rows:
            continue
        ids = [matrix.customer_ids[i] for i in rows]
        xs.append(learning.aligned(matrix, names)[rows])
        offered.append(np.array([history.offered[c] for c in ids], bool))
        bought.append(np.array([after.purchase_days(c) > 0 for c in ids], int))
        campaigns.append(
            {"name": history.name, "start": history.start.isoformat(), "end": history.end.isoformat(), "rows": len(ids)}
        )
    if not xs:
        return "no member of the past campaigns had bought before their campaign"
    return OfferRows(np.vstack(xs), np.concatenate(offered), np.concatenate(bought), campaigns)


def _problem(rows: OfferRows) -> str | None:
    for label, mask in (("offered", rows.offered), ("control", ~rows.offered)):
        n, buyers = int(mask.sum()), int(rows.bought[mask].sum())
        if n < settings.OFFER_RESPONSE_MIN_GROUP:
            return f"{n} {label} customers in past campaigns ({settings.OFFER_RESPONSE_MIN_GROUP} needed)"
        if min(buyers, n - buyers) < MIN_OUTCOMES:
            return f"{buyers} of {n} {label} customers bought in their campaign's window ({MIN_OUTCOMES} needed)"
    return None


def _model(seed: int) -> Pipeline:
    model = learning.logistic(seed)
    model.set_params(logistic__C=settings.OFFER_RESPONSE_C)
    return model


def observed_uplift(bought: np.ndarray, offered: np.ndarray, predicted: np.ndarray) -> dict:
    """Treatment-minus-control conversion among the customers predicted to gain most (top half) and least."""
    order = np.argsort(-predicted, kind="stable")
    halves = {"top_half": order[: len(order) // 2], "bottom_half": order[len(order) // 2 :]}
    out = {}
    for key, part in halves.items():
        t, c = part[offered[part]], part[~offered[part]]
        out[key] = float(bought[t].mean() - bought[c].mean()) if len(t) and len(c) else None
    out["predicted_top_half"] = float(predicted[halves["top_half"]].mean()) if len(order) > 1 else None
    out["predicted_bottom_half"] = float(predicted[halves["bottom_half"]].mean()) if len(order) > 1 else None
    return out


def fit(ctx, names: list[str], before: dt.datetime) -> tuple[dict | None, dict]:
    """The two models and their metrics, or (None, why not)."""
    rows = offer_rows(ctx, names, before)
    if isinstance(rows, str):
        return None, {"not_estimated": rows}
    problem = _problem(rows)
    if problem:
        return None, {"not_estimated": problem, "campaigns": rows.campaigns}
    rng = np.random.default_rng(ctx.seed)
    held = np.zeros(len(rows.bought), bool)
    for mask in (rows.offered, ~rows.offered):  # a quarter of each group
        members = np.flatnonzero(mask)
        held[rng.choice(members, size=len(members) // 4, replace=False)] = True
    models, metrics = {}, {"campaigns": rows.campaigns}
    for key, mask in ((OFFERED, rows.offered), (NOT_OFFERED, ~rows.offered)):
        train = mask & ~held
        models[key] = _model(ctx.seed).fit(rows.x[train], rows.bought[train])
        validation = mask & held
        metrics[key] = learning.classification_metrics(
            rows.bought[validation], learning.probabilities(models[key], rows.x[validation]), calibration=False
        ) | {"trained": int(train.sum())}
    x = rows.x[held]
    predicted = learning.probabilities(models[OFFERED], x) - learning.probabilities(models[NOT_OFFERED], x)
    metrics["held_out_uplift"] = observed_uplift(rows.bought[held], rows.offered[held], predicted)
    metrics["observed_uplift"] = float(
        rows.bought[rows.offered].mean() - rows.bought[~rows.offered].mean()
    )  # all members, for reference
    # Refit on every member for scoring: the held-out quarter only measured.
    for key, mask in ((OFFERED, rows.offered), (NOT_OFFERED, ~rows.offered)):
        models[key] = _model(ctx.seed).fit(rows.x[mask], rows.bought[mask])
    return models, metrics


def predict(models: dict | None, x: np.ndarray) -> dict[str, np.ndarray]:
    """Per customer: the probability of buying when offered, when not, and the difference ({} without models)."""
    if not models:
        return {}
    offered = learning.probabilities(models[OFFERED], x)
    not_offered = learning.probabilities(models[NOT_OFFERED], x)
    return {OFFERED: offered, NOT_OFFERED: not_offered, UPLIFT: offered - not_offered}
