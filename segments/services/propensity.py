"""Purchase propensity: the probability to buy in the next days, at all and in each top-level category, and the
response to discounts.

1. Fitted at a cut one horizon before the as-of date (features as of the cut, purchases in the horizon after it).
2. One gradient-boosting classifier per target: any purchase (`purchase_probability`), a purchase in each of the
   retailer's top-level categories the features know (`purchase_probability_<category>`), a purchase carrying a
   discount (`discount_purchase_probability`). The targets other than buying at all are learnt among the customers
   who bought, and their probability is P(buying) × P(target | buying): no category is ever likelier than buying at
   all. A quarter held out, ROC-AUC and top-decile lift stored beside a baseline (recency for buying at all, the
   customer's past share of the category, their past discount share).
3. Discount response: `discount_share` is the share of the customer's spend that was discounted (from the receipts'
   discount fields), and, learnt from past campaigns' treatment and control groups (``segments.services.offers``),
   the probability of buying in a campaign's window when offered (`offered_purchase_probability`), when not
   (`not_offered_purchase_probability`) and their difference (`offer_uplift`). Without such a campaign the
   version's metrics say why these are not estimated, and the other figures stand.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from django.conf import settings

from cdp.features.compute import FeatureMatrix
from segments.services import learning, offers
from segments.services.scoring_base import Context, Fitted, NotEnoughData, Predictions

CATEGORY_PREFIX = "share_category_"
ANY = "purchase_probability"
DISCOUNT = "discount_purchase_probability"
MIN_POSITIVES = 10
MAX_ITER = 300


def _targets(train: FeatureMatrix, after, categories: list[str]) -> dict[str, np.ndarray]:
    ids = train.customer_ids
    targets = {
        ANY: np.array([after.purchase_days(c) > 0 for c in ids], int),
        DISCOUNT: np.array([len(after.discounted.get(c, ())) > 0 for c in ids], int),
    }
    for key in categories:
        targets[f"{ANY}_{key}"] = np.array([key in after.categories.get(c, ()) for c in ids], int)
    return targets


def _baseline(name: str, x: np.ndarray, names: list[str]) -> np.ndarray:
    if name == ANY:
        return -x[:, names.index("recency_days")]
    if name == DISCOUNT:
        return x[:, names.index("discount_share")]
    return x[:, names.index(CATEGORY_PREFIX + name[len(ANY) + 1 :])]


def figures(models: dict, x: np.ndarray, *, given_buying: bool = True) -> dict[str, np.ndarray]:
    """Each target's probability. The models of the other targets than buying at all learnt among those who bought:
    their probability is P(buying) × P(target | buying), so that no category is likelier than buying at all."""
    found = {name: learning.probabilities(model, x) for name, model in models.items()}
    if given_buying:
        if ANY not in found:
            return {}
        for name in found:
            if name != ANY:
                found[name] = found[ANY] * found[name]
    return found


def fit(ctx: Context, horizon: int) -> Fitted:
    cut = ctx.moment - dt.timedelta(days=horizon)
    train = ctx.features_at(cut)
    names, x = train.names, train.values
    categories = [name[len(CATEGORY_PREFIX) :] for name in names if name.startswith(CATEGORY_PREFIX)]
    targets = _targets(train, ctx.outcomes(cut, ctx.moment, categories=True), categories)
    if min(targets[ANY].sum(), len(targets[ANY]) - targets[ANY].sum()) < MIN_POSITIVES:
        raise NotEnoughData(
            f"not enough data to learn who buys: {int(targets[ANY].sum())} of {len(targets[ANY])} customers bought "
            f"in the {horizon} days after {cut:%Y-%m-%d}"
        )
    train_rows, validation_rows = learning.sample_split(targets[ANY], limit=settings.SCORES_FIT_SAMPLE, seed=ctx.seed)
    models, skipped = {}, {}
    bought = train_rows[targets[ANY][train_rows] == 1]  # the other targets are learnt among those who bought
    for name, y in targets.items():
        rows = train_rows if name == ANY else bought
        positives = int(y[rows].sum())
        if min(positives, len(rows) - positives) < MIN_POSITIVES:
            who = "customers" if name == ANY else "buyers"
            skipped[name] = f"{positives} of {len(rows)} {who} in the training part ({MIN_POSITIVES} needed each way)"
            continue
        models[name] = learning.gradient_boosting(ctx.seed, len(rows), max_iter=MAX_ITER).fit(x[rows], y[rows])
    if ANY not in models:
        raise NotEnoughData(f"not enough data to learn who buys: {skipped[ANY]}")
    found = figures(models, x[validation_rows])
    validation = {
        name: learning.classification_metrics(targets[name][validation_rows], found[name], calibration=name == ANY)
        | {"baseline_roc_auc": learning.ranking_auc(targets[name][validation_rows],
                                                    _baseline(name, x[validation_rows], names))}
        for name in models
    }  # fmt: skip
    metrics: dict = {"validation": validation, "skipped": skipped}
    offer_models, metrics["offer_response"] = offers.fit(ctx, names, ctx.moment)
    if ctx.backtest:
        after = ctx.outcomes(ctx.moment, ctx.moment + dt.timedelta(days=horizon), categories=True)
        xb = learning.aligned(ctx.scoring, names)
        actual = _targets(ctx.scoring, after, categories)
        found = figures(models, xb)
        metrics["backtest"] = {
            name: learning.classification_metrics(actual[name], found[name], calibration=False)
            | {"baseline_roc_auc": learning.ranking_auc(actual[name], _baseline(name, xb, names))}
            for name in models
        } | {"horizon_complete": ctx.horizon_complete(horizon)}
    parameters = {
        "horizon_days": horizon,
        "training_cut": cut.isoformat(),
        "targets": list(models),
        "given_buying": [name for name in models if name != ANY],
        "offer_response": list(offers.FIELDS) if offer_models else [],
        "categories": categories,
        "features": names,
        "estimator": {"max_iter": MAX_ITER, "learning_rate": 0.05, "early_stopping": True},
        "sample": {"trained": len(train_rows), "validated": len(validation_rows), "seed": ctx.seed},
    }
    return Fitted(
        algorithm="HistGradientBoostingClassifier per target",
        parameters=parameters,
        metrics=metrics,
        artefact={"models": models, "names": names, "offers": offer_models, "given_buying": True},
        customers=len(train.customer_ids),
        training_start=None,
        training_end=ctx.moment,
    )


def predict(artefact: dict, matrix: FeatureMatrix, currency: str, as_of: dt.datetime | None = None) -> Predictions:
    names = artefact["names"]
    x = learning.aligned(matrix, names)
    found = figures(artefact["models"], x, given_buying=artefact.get("given_buying", False))
    found |= offers.predict(artefact.get("offers"), x)
    discount_share = x[:, names.index("discount_share")]
    score = found.get(ANY, np.zeros(len(x)))
    details = []
    for i in range(len(x)):
        row = {name: round(float(values[i]), 6) for name, values in found.items() if name != ANY}
        row["discount_share"] = round(float(discount_share[i]), 6)
        details.append(row)
    return Predictions(score=score, band=None, details=details)
