"""Segmentation runs: create one, execute it (the task's body), and what it stores.

A run is a row from the start: its status, progress and step are written as it goes (outside its transaction, so a
page can follow it), and everything it finds is written at the end in one transaction: segments with their profile
and name, one membership per customer, the metrics and the curve of every k, the RFM cross-tab, the stability, a
sampled scatter. The processing register lists the run under profiling and segmentation.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cdp.db import Row, objects_insert, statistics_refresh
from cdp.features.compute import FeatureMatrix
from cdp.features.selectors import feature_matrix
from cdp.features.services import as_of_moment, feature_snapshot_create
from consent.models import RunStatus
from consent.services.register import ACTIVITY_PROFILING_SEGMENTATION, processing_run_record
from segments.models import Segment, SegmentationRun, SegmentMembership
from segments.services.method import NOISE, Clustering, cluster, rfm_classes
from segments.services.naming import describe

logger = logging.getLogger(__name__)

SCATTER_POINTS = 1500
BOOTSTRAP_ROUNDS = 5
MIN_CUSTOMERS = 10
TOO_FEW = "too few customers may be profiled to segment"
ALREADY_DONE = "this run has already been executed"


def segmentation_run_create(
    *, algorithm: str = "kmeans", k: int | None = None, as_of=None, seed: int = 42, actor=None
) -> SegmentationRun:
    """A queued run (the caller starts it: ``segmentation_run_start``)."""
    if algorithm not in SegmentationRun.Algorithm.values:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    return SegmentationRun.objects.create(
        algorithm=algorithm, k_requested=k, as_of=as_of_moment(as_of), seed=seed, actor=actor
    )


def segmentation_run_start(run: SegmentationRun) -> None:
    """Hand the run to the `ml` queue once the transaction that created it commits (in-process without a broker)."""
    from segments.tasks import segmentation_run_execute_task

    def send() -> None:
        result = segmentation_run_execute_task.delay(run.pk)
        SegmentationRun.objects.filter(pk=run.pk, task_id="").update(task_id=result.id or "")

    transaction.on_commit(send)


def _progress(run: SegmentationRun, percent: int, step: str) -> None:
    SegmentationRun.objects.filter(pk=run.pk).update(progress=percent, step=step[:100])


def segmentation_run_execute(*, run_id: int) -> SegmentationRun:
    """Execute a queued run; a run already claimed or finished is left as it is (a task delivered twice)."""
    claimed = SegmentationRun.objects.filter(pk=run_id, status=SegmentationRun.Status.QUEUED).update(
        status=SegmentationRun.Status.RUNNING, started_at=timezone.now(), progress=1, step="starting"
    )
    run = SegmentationRun.objects.get(pk=run_id)
    if not claimed:
        return run
    started = time.monotonic()
    try:
        _execute(run, started)
    except Exception as exc:
        logger.exception("segmentation run %s failed", run.pk)
        SegmentationRun.objects.filter(pk=run.pk).update(
            status=SegmentationRun.Status.FAILED,
            message=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
            seconds=time.monotonic() - started,
        )
        run.refresh_from_db()
        _register(run)
        raise
    run.refresh_from_db()
    _register(run)
    return run


def _execute(run: SegmentationRun, started: float) -> None:
    _progress(run, 5, "computing features")
    snapshot = feature_snapshot_create(as_of=run.as_of, actor=run.actor)
    SegmentationRun.objects.filter(pk=run.pk).update(snapshot=snapshot)
    run.snapshot = snapshot
    matrix = feature_matrix(snapshot)
    buyers = matrix.column("frequency") > 0  # behaviour to segment: customers who bought before the date
    matrix = FeatureMatrix(
        [c for c, keep in zip(matrix.customer_ids, buyers, strict=True) if keep], matrix.features, matrix.values[buyers]
    )
    if len(matrix.customer_ids) < MIN_CUSTOMERS:
        raise ValueError(f"{TOO_FEW}: {len(matrix.customer_ids)}")
    _progress(run, 30, "transforming")
    result = cluster(
        matrix,
        algorithm=run.algorithm,
        k=run.k_requested,
        seed=run.seed,
        progress=lambda percent, step: _progress(run, percent, step),
    )
    _progress(run, 85, "naming segments")
    rfm = rfm_classes(matrix)
    stability = _stability(run, matrix, result)
    with transaction.atomic():
        segments = _write_segments(run, snapshot.currency, matrix, result)
        _write_memberships(run, matrix, result, segments)
        run.k = result.k
        run.customers = len(matrix.customer_ids)
        run.parameters = {**result.parameters, "snapshot": snapshot.pk}
        run.curve = result.curve
        run.metrics = {**result.metrics, "ari_with_rfm": _ari(result.labels, rfm)}
        run.rfm_crosstab = _crosstab(result.labels, rfm, segments)
        run.scatter = _scatter(result, segments, run.seed)
        run.stability = stability
        run.alerts = _alerts(stability)
        run.status = SegmentationRun.Status.SUCCEEDED
        run.progress, run.step = 100, "done"
        run.finished_at = timezone.now()
        run.seconds = time.monotonic() - started
        run.save()
    if run.alerts:
        from segments.services.stability import alert_marketing

        alert_marketing(run)


def _write_segments(run, currency, matrix: FeatureMatrix, result: Clustering) -> dict[int, Segment]:
    totals = matrix.column("monetary")
    revenue = float(np.clip(totals, 0, None).sum()) or 1.0
    segments, names = {}, set()
    for label in sorted(set(result.labels.tolist())):
        members = result.labels == label
        profile, name, description = describe(matrix.features, matrix.values, members, currency)
        if label == NOISE:
            name, description = "Unclustered", "customers the density method left in no cluster"
        base, suffix = name, 2
        while name in names:
            name, suffix = f"{base} ({suffix})", suffix + 1
        names.add(name)
        segments[label] = Segment.objects.create(
            run=run,
            number=label + 1 if label != NOISE else 0,
            name=name,
            generated_name=name,
            description=description,
            profile=profile,
            centroid=matrix.values[members].mean(axis=0).round(6).tolist(),
            size=int(members.sum()),
            revenue_share=float(np.clip(totals[members], 0, None).sum()) / revenue,
            is_noise=label == NOISE,
        )
    return segments


def _write_memberships(run, matrix: FeatureMatrix, result: Clustering, segments: dict[int, Segment]) -> None:
    now = timezone.now()
    rows = [
        Row(
            id=None,
            customer_id=customer,
            run_id=run.pk,
            segment_id=segments[label].pk,
            origin=SegmentMembership.Origin.CLUSTERING,
            entered_at=now,
            left_at=None,
        )
        for customer, label in zip(matrix.customer_ids, result.labels.tolist(), strict=True)
    ]
    objects_insert(SegmentMembership, rows)
    statistics_refresh(SegmentMembership, len(rows))


def _ari(labels: np.ndarray, other: np.ndarray) -> float:
    return float(adjusted_rand_score(other, labels))


def _crosstab(labels: np.ndarray, rfm: np.ndarray, segments: dict[int, Segment]) -> dict:
    table = {}
    for label, segment in segments.items():
        members = labels == label
        table[str(segment.pk)] = {f"S{c}": int((rfm[members] == c).sum()) for c in range(1, 6)}
    return {"classes": [f"S{c}" for c in range(1, 6)], "rows": table}


def _scatter(result: Clustering, segments: dict[int, Segment], seed: int) -> list[list]:
    """Up to SCATTER_POINTS sampled customers on the first two principal axes: [x, y, segment id]."""
    points = result.embedded_sample
    labels = result.labels[result.sample_index]
    rng = np.random.default_rng(seed)
    index = rng.choice(len(points), size=min(SCATTER_POINTS, len(points)), replace=False)
    second = points[:, 1] if points.shape[1] > 1 else np.zeros(len(points))
    return [
        [round(float(points[i, 0]), 3), round(float(second[i]), 3), segments[int(labels[i])].pk] for i in sorted(index)
    ]


def _stability(run: SegmentationRun, matrix: FeatureMatrix, result: Clustering) -> dict:
    """Bootstrap stability of a k-means run (ARI of refits on resamples against the run's own labels), and the
    agreement with the active segmentation on the customers both hold."""
    out: dict = {}
    if run.algorithm == "kmeans" and result.k >= 2:
        rng = np.random.default_rng(run.seed + 1)
        points, labels = result.embedded_sample, result.labels[result.sample_index]
        scores = []
        for _ in range(BOOTSTRAP_ROUNDS):
            resample = rng.choice(len(points), size=len(points), replace=True)
            refit = KMeans(n_clusters=result.k, n_init=2, random_state=int(rng.integers(1 << 31))).fit(points[resample])
            scores.append(adjusted_rand_score(labels, refit.predict(points)))
        out["bootstrap_ari_mean"] = float(np.mean(scores))
        out["bootstrap_ari_min"] = float(np.min(scores))
        out["bootstrap_rounds"] = BOOTSTRAP_ROUNDS
    active = SegmentationRun.objects.filter(is_active=True).exclude(pk=run.pk).first()
    if active is not None:
        current = dict(
            SegmentMembership.objects.filter(run=active, left_at__isnull=True).values_list("customer_id", "segment_id")
        )
        common = [
            (current[c], label) for c, label in zip(matrix.customer_ids, result.labels, strict=True) if c in current
        ]
        if common:
            before, now = zip(*common, strict=True)
            out["ari_with_active"] = float(adjusted_rand_score(before, now))
            out["active_run"] = active.pk
            out["common_customers"] = len(common)
    return out


def _alerts(stability: dict) -> list[str]:
    alerts = []
    minimum = settings.SEGMENT_STABILITY_MIN_ARI
    if stability.get("bootstrap_ari_mean") is not None and stability["bootstrap_ari_mean"] < minimum:
        alerts.append(
            f"unstable: refits on resamples agree with this run at ARI {stability['bootstrap_ari_mean']:.2f} "
            f"(below {minimum:.2f})"
        )
    if stability.get("ari_with_active") is not None and stability["ari_with_active"] < minimum:
        alerts.append(
            f"drift: this run agrees with the active segmentation at ARI {stability['ari_with_active']:.2f} "
            f"(below {minimum:.2f})"
        )
    return alerts


def _register(run: SegmentationRun) -> None:
    succeeded = run.status == SegmentationRun.Status.SUCCEEDED
    processing_run_record(
        activity=ACTIVITY_PROFILING_SEGMENTATION,
        kind="segmentation",
        started_at=run.started_at or run.created_at,
        finished_at=run.finished_at or timezone.now(),
        status=RunStatus.SUCCEEDED if succeeded else RunStatus.FAILED,
        actor=run.actor,
        counts={"customers": run.customers, "segments": run.k or 0},
        parameters={"algorithm": run.algorithm, "k": run.k_requested, "as_of": run.as_of.isoformat()},
        reference=run,
        message="" if succeeded else run.message.split(":", 1)[0],
    )


def as_of_default() -> dt.datetime:
    return timezone.now()
