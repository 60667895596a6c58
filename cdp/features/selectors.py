"""Reads of the feature store: a snapshot as a matrix, one customer's values, the latest snapshot."""

from __future__ import annotations

import uuid

import numpy as np

from cdp.features.compute import FeatureMatrix
from cdp.features.definitions import Feature
from cdp.models import CustomerFeatures, FeatureSnapshot

CHUNK = 20_000


def feature_snapshot_latest() -> FeatureSnapshot | None:
    return FeatureSnapshot.objects.filter(status=FeatureSnapshot.Status.SUCCEEDED).order_by("-created_at").first()


def feature_matrix(snapshot: FeatureSnapshot, customer_ids: list | None = None) -> FeatureMatrix:
    """The snapshot's rows (of `customer_ids` only, when given) as a matrix, in customer order."""
    rows = CustomerFeatures.objects.filter(snapshot=snapshot).order_by("customer_id")
    if customer_ids is not None:
        rows = rows.filter(customer_id__any=list(customer_ids))
    customers: list[uuid.UUID] = []
    vectors: list[np.ndarray] = []
    for customer, blob in rows.values_list("customer_id", "values").iterator(chunk_size=CHUNK):
        customers.append(customer)
        vectors.append(np.frombuffer(bytes(blob), dtype="<f8"))
    features = [Feature(**feature) for feature in snapshot.features]
    values = np.vstack(vectors) if vectors else np.zeros((0, len(features)))
    return FeatureMatrix(customers, features, values, {"snapshot": snapshot.pk, "as_of": snapshot.as_of.isoformat()})


def customer_features(snapshot: FeatureSnapshot, customer_id) -> dict[str, float] | None:
    """One customer's values by feature name, or None when the customer is not in the snapshot."""
    blob = CustomerFeatures.objects.filter(snapshot=snapshot, customer_id=customer_id).values_list("values", flat=True)
    blob = blob.first()
    if blob is None:
        return None
    return dict(zip(snapshot.names, np.frombuffer(bytes(blob), dtype="<f8").tolist(), strict=True))
