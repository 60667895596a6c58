"""Writes of the feature store: computing and storing a snapshot of every profilable customer's features."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time

import numpy as np

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cdp.db import Row, objects_insert
from cdp.features.compute import FeatureMatrix, compute
from cdp.features.definitions import YEAR
from cdp.features.extract import extract, processable_customers
from cdp.models import CustomerFeatures, FeatureSnapshot
from cdp.money import currency_exponent

logger = logging.getLogger(__name__)

NAIVE_AS_OF = "the as-of moment must carry its time zone"


def as_of_moment(day: dt.date | dt.datetime | None) -> dt.datetime:
    """The moment features are computed at: the start of `day` in the retailer's time zone (now without one)."""
    if day is None:
        return timezone.now()
    if isinstance(day, dt.datetime):
        if timezone.is_naive(day):
            raise ValueError(NAIVE_AS_OF)
        return day
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_default_timezone())


def features_compute(*, as_of: dt.datetime, customers=None) -> FeatureMatrix:
    """The feature matrix as of `as_of` of `customers` (a queryset; by default every customer who may be profiled)."""
    customers = customers if customers is not None else processable_customers()
    paths = extract(as_of=as_of, customers=customers, since_events=as_of - dt.timedelta(days=YEAR))
    try:
        matrix = compute(
            paths,
            as_of=as_of,
            tz=settings.TIME_ZONE,
            currency_exponent=currency_exponent(settings.CLIENTELE_CURRENCY),
            memory=settings.FEATURES_MEMORY,
        )
        matrix.parameters["asked"] = paths.customer_count  # the customers asked for, bought or not
        return matrix
    finally:
        shutil.rmtree(paths.folder, ignore_errors=True)


def feature_snapshot_create(*, as_of: dt.datetime | dt.date | None = None, actor=None) -> FeatureSnapshot:
    """Compute the features of every customer who may be profiled, as of `as_of`, and store them as a snapshot.

    1. The customers processable for "profiling" (consent.selectors): those who objected or are restricted are left
       out before anything is read.
    2. Their receipts, lines and interactions before the date are aggregated (``cdp.features.compute``).
    3. The rows are written in bulk, each customer's values as one float64 vector, in one transaction.
    """
    moment = as_of_moment(as_of)
    started = time.monotonic()
    snapshot = FeatureSnapshot.objects.create(
        as_of=moment, actor=actor, currency=settings.CLIENTELE_CURRENCY, time_zone=settings.TIME_ZONE
    )
    try:
        matrix = features_compute(as_of=moment, customers=processable_customers())
        processable = matrix.parameters["asked"]
        with transaction.atomic():
            rows = [
                Row(id=None, snapshot_id=snapshot.pk, customer_id=customer, values=vector.tobytes())
                for customer, vector in zip(matrix.customer_ids, matrix.values.astype("<f8"), strict=True)
            ]
            objects_insert(CustomerFeatures, rows)
            snapshot.names = matrix.names
            snapshot.features = [feature.as_dict() for feature in matrix.features]
            snapshot.customers = len(rows)
            snapshot.processable = processable
            snapshot.status = FeatureSnapshot.Status.SUCCEEDED
            snapshot.finished_at = timezone.now()
            snapshot.seconds = time.monotonic() - started
            snapshot.save()
    except Exception as exc:
        snapshot.status = FeatureSnapshot.Status.FAILED
        snapshot.message = f"{type(exc).__name__}: {exc}"[:2000]
        snapshot.finished_at = timezone.now()
        snapshot.seconds = time.monotonic() - started
        snapshot.save()
        raise
    logger.info("feature snapshot %s: %s customers, %s features", snapshot.pk, snapshot.customers, len(snapshot.names))
    return snapshot


def values_of(blob: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(blob), dtype="<f8")
