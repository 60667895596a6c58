"""What the classifiers share: aligning a feature matrix to a model's columns, the two estimators, their metrics
(each beside its baseline), and per-customer contributions for reasons.

Contributions are a documented approximation, honest for trees and for any other model: a feature's contribution to
a customer's probability is how much the probability moves when that one feature is replaced by the training
population's median, all the others kept (a one-reference, one-feature-at-a-time occlusion: the "baseline
substitution" SHAP's interventional explainer averages over many references and feature orders). It ignores
interactions between the features it moves, which exact Shapley values would share out; it reads the model only
through ``predict_proba``, so the reason a page shows is what the stored model does, not a proxy of it.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from cdp.features.compute import FeatureMatrix

VALIDATION_SHARE = 0.25
RELIABILITY_BINS = 10
PREDICT_CHUNK = 20_000


def aligned(matrix: FeatureMatrix, names: list[str]) -> np.ndarray:
    """The matrix's values in the columns `names` (a column the matrix lacks is 0: a category nobody bought yet)."""
    index = {name: i for i, name in enumerate(matrix.names)}
    out = np.zeros((len(matrix.customer_ids), len(names)))
    for column, name in enumerate(names):
        if name in index:
            out[:, column] = matrix.values[:, index[name]]
    return out


def _signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


LARGE = 20_000


def gradient_boosting(seed: int, rows: int, max_iter: int = 500) -> HistGradientBoostingClassifier:
    """Shallow trees, leaves of at least 1% of the rows, and as many rounds as a held-out fifth keeps improving:
    measured on the demo's 1,300 profilable buyers, the library's defaults (31 leaves, 100 rounds) overfit (churn
    back-test ROC-AUC 0.73 against 0.76-0.77 like this); larger retailers get eight leaves."""
    return HistGradientBoostingClassifier(
        max_iter=max_iter,
        learning_rate=0.05,
        max_leaf_nodes=8 if rows >= LARGE else 4,
        min_samples_leaf=max(20, rows // 100),
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=20,
        random_state=seed,
    )


def logistic(seed: int) -> Pipeline:
    """The baseline: logistic regression on signed-log, scaled features."""
    return Pipeline(
        [
            ("log", FunctionTransformer(_signed_log)),
            ("scale", StandardScaler()),
            ("logistic", LogisticRegression(max_iter=2000, C=1.0, random_state=seed)),
        ]
    )


def sample_split(y: np.ndarray, *, limit: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a training and a validation part of at most `limit` rows, stratified on `y`."""
    rng = np.random.default_rng(seed)
    index = np.arange(len(y))
    if len(index) > limit:
        index = np.sort(rng.choice(index, size=limit, replace=False))
    stratify = y[index] if min(np.bincount(y[index].astype(int), minlength=2)) >= 2 else None
    train, validation = train_test_split(index, test_size=VALIDATION_SHARE, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(validation)


def probabilities(model, x: np.ndarray) -> np.ndarray:
    """Positive-class probabilities, predicted a chunk at a time (memory stays flat whatever the customers)."""
    if len(x) == 0:
        return np.zeros(0)
    return np.concatenate(
        [model.predict_proba(x[i : i + PREDICT_CHUNK])[:, 1] for i in range(0, len(x), PREDICT_CHUNK)]
    )


def reliability(y: np.ndarray, p: np.ndarray, bins: int = RELIABILITY_BINS) -> list[dict]:
    """Calibration: per bin of predicted probability, the customers, the mean prediction and the observed rate."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        members = which == b
        if members.any():
            table.append(
                {
                    "from": round(float(edges[b]), 2),
                    "to": round(float(edges[b + 1]), 2),
                    "customers": int(members.sum()),
                    "predicted": round(float(p[members].mean()), 4),
                    "observed": round(float(y[members].mean()), 4),
                }
            )
    return table


def top_decile_lift(y: np.ndarray, p: np.ndarray) -> float | None:
    if len(y) < 10 or y.mean() == 0:
        return None
    top = np.argsort(-p, kind="stable")[: max(1, len(y) // 10)]
    return float(y[top].mean() / y.mean())


def classification_metrics(y: np.ndarray, p: np.ndarray, *, calibration: bool = True) -> dict:
    """ROC-AUC, PR-AUC, Brier score, top-decile lift, base rate (and the reliability table)."""
    y = y.astype(int)
    out: dict = {"customers": int(len(y)), "base_rate": float(y.mean()) if len(y) else None}
    if len(np.unique(y)) < 2:
        out["note"] = "one outcome only: no ranking metric"
        return out
    out |= {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, np.clip(p, 0, 1))),
        "top_decile_lift": top_decile_lift(y, p),
    }
    if calibration:
        out["reliability"] = reliability(y, np.clip(p, 0, 1))
    return out


def ranking_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """ROC-AUC of a plain score (a baseline such as recency alone)."""
    if len(np.unique(y)) < 2:
        return None
    return float(roc_auc_score(y.astype(int), score))


def contributions(model, x: np.ndarray, columns: list[int], reference: np.ndarray) -> np.ndarray:
    """(customers, len(columns)): p(x) − p(x with that column set to its reference value). See the module's note."""
    base = probabilities(model, x)
    out = np.zeros((len(x), len(columns)))
    for j, column in enumerate(columns):
        moved = x.copy()
        moved[:, column] = reference[column]
        out[:, j] = base - probabilities(model, moved)
    return out
