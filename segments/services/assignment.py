"""The frozen segmentation and the customers assigned to it since: freeze a run, assign new and changed customers.

Freezing trains a classifier on the run's customers and their segments, on the same transform the run fitted (refitted
on the run's own snapshot): a logistic regression and a random forest (scikit-learn) are both cross-validated, and the
more accurate is kept. k-means segments are cells with flat borders in the transformed space, which a logistic
regression draws exactly and a forest only in steps; density methods' segments have any shape, which suits the forest.
The accuracy of each, the one kept and the fitted pipeline with its checksum are stored. Assignment computes today's
features of the customers who may be profiled, asks the classifier for their segment, and writes a new membership for
each customer whose segment changed (the old one is closed, so history shows the move); customers who may no longer
be profiled leave their segment.
"""

from __future__ import annotations

import hashlib
import io

import joblib
import numpy as np
from scipy.spatial.distance import jensenshannon
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from cdp.db import Row, objects_insert, statistics_refresh
from cdp.features.selectors import feature_matrix
from cdp.features.services import features_compute
from segments.models import Segment, SegmentationRun, SegmentMembership
from segments.services.method import FIT_SAMPLE, build_pipeline

NOT_SUCCEEDED = "only a finished run can be frozen"
NOT_ACTIVE = "no segmentation is frozen: freeze a run first"
CV_FOLDS = 5


def _current(run: SegmentationRun) -> dict:
    return dict(
        SegmentMembership.objects.filter(run=run, left_at__isnull=True).values_list("customer_id", "segment_id")
    )


def _folds(y: np.ndarray) -> int:
    return min(CV_FOLDS, int(np.bincount(np.unique(y, return_inverse=True)[1]).min()))


def classifier_choose(pipeline: Pipeline, x: np.ndarray, y: np.ndarray, *, seed: int):
    """(name, unfitted model, cross-validated accuracy by name, folds): the more accurate of a logistic regression and a
    random forest, each after `pipeline`'s transform (the forest when they tie, or when there are too few customers
    in a segment to cross-validate)."""
    candidates = {
        "logistic regression": LogisticRegression(C=100.0, max_iter=2000),
        "random forest": RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=-1),
    }
    folds = _folds(y)
    accuracies: dict[str, float | None] = {}
    for name, classifier in candidates.items():
        model = Pipeline([*pipeline.steps, ("classifier", classifier)])
        accuracies[name] = float(cross_val_score(model, x, y, cv=folds).mean()) if folds >= 2 else None
    chosen = max(candidates, key=lambda name: (accuracies[name] or 0.0, name == "random forest"))
    return chosen, Pipeline([*pipeline.steps, ("classifier", candidates[chosen])]), accuracies, folds


def _train(run: SegmentationRun) -> tuple[bytes, dict]:
    matrix = feature_matrix(run.snapshot)
    current = _current(run)
    keep = np.array([customer in current for customer in matrix.customer_ids])
    values = matrix.values[keep]
    targets = np.array([current[c] for c in matrix.customer_ids if c in current])
    rng = np.random.default_rng(run.seed)
    sample = np.sort(rng.choice(len(values), size=min(FIT_SAMPLE, len(values)), replace=False))
    pipeline, used = build_pipeline(matrix, variance=run.parameters.get("variance_kept", 0.85), seed=run.seed)
    x, y = values[sample][:, used], targets[sample]
    chosen, model, accuracies, folds = classifier_choose(pipeline, x, y, seed=run.seed)
    accuracy = accuracies[chosen]
    model.fit(x, y)
    buffer = io.BytesIO()
    joblib.dump({"model": model, "features": [matrix.features[i].name for i in used]}, buffer)
    sizes = {str(segment): int((targets == segment).sum()) for segment in np.unique(targets)}
    metrics = {
        "cv_accuracy": accuracy,
        "classifier": chosen,
        "cv_accuracy_by_classifier": accuracies,
        "cv_folds": folds,
        "trained_on": len(sample),
        "sizes_at_freeze": sizes,
    }
    return buffer.getvalue(), metrics


@transaction.atomic
def segmentation_freeze(*, run: SegmentationRun, actor=None) -> SegmentationRun:
    """Make `run` the active segmentation (the one new customers are assigned to), its classifier trained."""
    run = SegmentationRun.objects.select_for_update().get(pk=run.pk)
    if run.status != SegmentationRun.Status.SUCCEEDED:
        raise ValueError(NOT_SUCCEEDED)
    blob, metrics = _train(run)
    SegmentationRun.objects.filter(is_active=True).exclude(pk=run.pk).update(is_active=False)
    run.is_active = True
    run.frozen_at = timezone.now()
    run.frozen_by = actor
    run.classifier = blob
    run.classifier_sha256 = hashlib.sha256(blob).hexdigest()
    run.classifier_metrics = metrics
    run.save()
    return run


def _classifier(run: SegmentationRun) -> dict:
    blob = bytes(run.classifier)
    if hashlib.sha256(blob).hexdigest() != run.classifier_sha256:
        raise ValueError("the stored classifier does not match its checksum")
    return joblib.load(io.BytesIO(blob))  # an artefact the product wrote itself (checked above), never a user's


def segment_assign(*, as_of=None) -> dict:
    """Assign today's profilable customers to the active segmentation; returns counts (moved, new, left)."""
    run = SegmentationRun.objects.filter(is_active=True).first()
    if run is None:
        raise ValueError(NOT_ACTIVE)
    artefact = _classifier(run)
    snapshot_names = run.snapshot.names
    matrix = features_compute(as_of=as_of or timezone.now())
    buyers = matrix.column("frequency") > 0
    index = [matrix.names.index(name) if name in matrix.names else None for name in snapshot_names]
    values = (
        np.column_stack([matrix.values[buyers][:, i] if i is not None else np.zeros(int(buyers.sum())) for i in index])
        if buyers.any()
        else np.zeros((0, len(snapshot_names)))
    )
    used = [snapshot_names.index(name) for name in artefact["features"]]
    customers = [c for c, keep in zip(matrix.customer_ids, buyers, strict=True) if keep]
    predicted = artefact["model"].predict(values[:, used]) if len(customers) else np.array([])
    return _apply_assignment(run, customers, predicted)


@transaction.atomic
def _apply_assignment(run: SegmentationRun, customers: list, predicted: np.ndarray) -> dict:
    now = timezone.now()
    current = {
        customer: (pk, segment)
        for pk, customer, segment in SegmentMembership.objects.filter(run=run, left_at__isnull=True).values_list(
            "pk", "customer_id", "segment_id"
        )
    }
    wanted = dict(zip(customers, (int(s) for s in predicted), strict=True))
    closing = [pk for customer, (pk, segment) in current.items() if wanted.get(customer) != segment]
    if closing:
        SegmentMembership.objects.filter(pk__in=closing).update(left_at=now)
    rows = [
        Row(
            id=None,
            customer_id=customer,
            run_id=run.pk,
            segment_id=segment,
            origin=SegmentMembership.Origin.ASSIGNMENT,
            entered_at=now,
            left_at=None,
        )
        for customer, segment in wanted.items()
        if current.get(customer, (None, None))[1] != segment
    ]
    objects_insert(SegmentMembership, rows)
    statistics_refresh(SegmentMembership, len(rows) + len(closing))
    moved = sum(1 for customer in wanted if customer in current and current[customer][1] != wanted[customer])
    left = sum(1 for customer in current if customer not in wanted)
    counts = {"assigned": len(wanted), "moved": moved, "new": len(rows) - moved, "left": left}
    counts["drift_js"] = _drift(run)
    _refresh_sizes(run)
    return counts


def _refresh_sizes(run: SegmentationRun) -> None:
    for segment in Segment.objects.filter(run=run):
        segment.size = SegmentMembership.objects.filter(segment=segment, left_at__isnull=True).count()
        segment.save(update_fields=["size"])


def _drift(run: SegmentationRun) -> float | None:
    """Jensen-Shannon distance between the segment sizes at freeze and now; an alert past the setting."""
    at_freeze = run.classifier_metrics.get("sizes_at_freeze") or {}
    if not at_freeze:
        return None
    now = dict(
        SegmentMembership.objects.filter(run=run, left_at__isnull=True)
        .values_list("segment_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    keys = sorted(set(at_freeze) | {str(k) for k in now})
    before = np.array([at_freeze.get(k, 0) for k in keys], dtype=float)
    after = np.array([now.get(int(k), 0) for k in keys], dtype=float)
    if before.sum() == 0 or after.sum() == 0:
        return None
    distance = float(jensenshannon(before / before.sum(), after / after.sum(), base=2))
    if distance > settings.SEGMENT_DRIFT_MAX_JS:
        from segments.services.stability import alert_marketing

        run.alerts = [
            *run.alerts,
            f"drift: segment sizes moved from those at freeze (Jensen-Shannon distance {distance:.2f}, "
            f"above {settings.SEGMENT_DRIFT_MAX_JS:.2f})",
        ]
        run.save(update_fields=["alerts"])
        transaction.on_commit(lambda: alert_marketing(run))
    return distance
