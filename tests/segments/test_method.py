"""The segmentation method on feature matrices made here: what the transform does to behaviours measured by many
columns at once, without the database."""

from __future__ import annotations

import uuid

import numpy as np
from sklearn.metrics import adjusted_rand_score

from cdp.features.compute import FeatureMatrix
from cdp.features.definitions import Feature, Kind
from segments.services.assignment import classifier_choose
from segments.services.method import build_pipeline, cluster


def _retailer(seed: int = 3) -> tuple[FeatureMatrix, np.ndarray]:
    """Eight columns that all measure how much a customer buys (one long-tailed activity level, each column with a
    little noise of its own), and six style columns on which three groups of customers differ (discount share,
    evening share, shares of categories, share of the web). The groups buy as much as each other."""
    rng = np.random.default_rng(seed)
    n = 1500
    groups = rng.integers(0, 3, n)
    activity = rng.lognormal(1.5, 0.9, n)
    volume = [activity * rng.lognormal(0, 0.15, n) for _ in range(8)]
    centres = np.array(
        [
            [0.05, 0.20, 0.10, 0.10, 0.30, 0.50],
            [0.40, 0.20, 0.10, 0.45, 0.30, 0.20],
            [0.10, 0.60, 0.45, 0.15, 0.65, 0.50],
        ]
    )
    style = np.clip(centres[groups] + rng.normal(0, 0.07, (n, 6)), 0, 1)
    features = [Feature(f"volume_{i}", f"volume {i}", Kind.COUNT, "{value}", skewed=True) for i in range(8)]
    features += [Feature(f"style_{i}", f"style {i}", Kind.SHARE, "{value}") for i in range(6)]
    values = np.column_stack([*volume, style])
    return FeatureMatrix([uuid.uuid4() for _ in range(n)], features, values), groups


def test_every_kept_direction_of_behaviour_weighs_the_same():
    matrix, _ = _retailer()
    pipeline, used = build_pipeline(matrix, variance=0.85, seed=1)
    embedded = pipeline.fit_transform(matrix.values[:, used])
    assert np.allclose(embedded.std(axis=0, ddof=1), 1.0, atol=1e-6)
    assert embedded.shape[1] >= 2


def test_components_at_the_noise_floor_are_left_out():
    """Beside the activity and style columns, ten columns of pure noise: they add components to reach 85% of the
    variance, but none of them stands above what shuffled data gives, so none is kept."""
    matrix, _ = _retailer()
    rng = np.random.default_rng(11)
    noise = rng.normal(0, 1, (len(matrix.customer_ids), 10))
    features = [*matrix.features, *(Feature(f"noise_{i}", f"noise {i}", Kind.RATIO, "{value}") for i in range(10))]
    noisy = FeatureMatrix(matrix.customer_ids, features, np.column_stack([matrix.values, noise]))
    pipeline, used = build_pipeline(noisy, variance=0.85, seed=1)
    pipeline.fit(noisy.values[:, used])
    pca = pipeline.named_steps["pca"]
    assert pca.components_above_noise_ == 3  # activity, and the two directions that tell three style groups apart
    assert pca.components_for_variance_ > pca.components_above_noise_
    assert pca.n_components_ == 3
    # and the styles are found all the same
    assert adjusted_rand_score(_retailer()[1], cluster(noisy, k=None, seed=5).labels) >= 0.85


def test_many_columns_measuring_one_thing_do_not_decide_the_segments():
    """The activity columns make the largest component by far; the segments must still be the three styles, not a
    split into who buys more and who buys less."""
    matrix, groups = _retailer()
    result = cluster(matrix, k=None, seed=5)
    assert result.k == 3
    assert adjusted_rand_score(groups, result.labels) >= 0.85


def test_k_means_segments_without_clear_borders_are_assigned_accurately():
    """Customers on a continuum (no group stands apart), cut into ten k-means segments: the borders are flat in the
    transformed space, which a logistic regression draws exactly and a forest only in steps. The more accurate is
    kept, and it assigns held-out customers to the segment k-means gives them."""
    rng = np.random.default_rng(8)
    n = 3000
    latent = rng.normal(0, 1, (n, 4))
    values = np.column_stack([latent @ rng.normal(0, 1, (4, 10)) + rng.normal(0, 0.3, (n, 10))])
    features = [Feature(f"behaviour_{i}", f"behaviour {i}", Kind.RATIO, "{value}") for i in range(10)]
    matrix = FeatureMatrix([uuid.uuid4() for _ in range(n)], features, values)
    segments = cluster(matrix, k=10, seed=2).labels
    train, held_out = np.arange(n) < 2000, np.arange(n) >= 2000
    pipeline, used = build_pipeline(matrix, variance=0.85, seed=2)
    chosen, model, accuracies, _ = classifier_choose(pipeline, values[train][:, used], segments[train], seed=2)
    assert chosen == "logistic regression"
    assert accuracies["logistic regression"] > accuracies["random forest"]
    model.fit(values[train][:, used], segments[train])
    assert (model.predict(values[held_out][:, used]) == segments[held_out]).mean() >= 0.95
