"""The segmentation method, on a feature matrix: the fitted transform, clustering with automatic k, and baselines.

1. Transform: the logarithm of long-tailed features (money, counts, days), standard scaling, a weight per feature
   so that each behaviour counts once whatever the number of its columns (``family_weights``), then PCA keeping a
   stated share of the variance (``NoiseFloorPCA``): of those components, only the ones that carry more variance
   than the same data with each column shuffled (where no two features go together any more: Horn's parallel
   analysis), each scaled to unit variance (whitened). Features that move together (spend, purchase days, products,
   stores: how much a customer buys) make one large component; unscaled, it would decide every distance and the
   segments would only say who buys more. Whitened, every direction of behaviour weighs the same, whatever number of
   columns measure it; components at the noise floor are left out, or whitening would give noise that weight too.
   One scikit-learn Pipeline: what a run fits is what later predicts.
2. k-means: for every k of the range, fitted on a sample; silhouette on a sub-sample, Calinski-Harabasz,
   Davies-Bouldin and inertia on the sample; k is the best silhouette. The chosen model labels every customer, a
   chunk at a time.
3. Alternatives: Ward (k by silhouette as well), HDBSCAN, OPTICS, DBSCAN (their own number of clusters), fitted on a
   sample; the other customers take the label of their nearest sampled neighbours (noise stays noise).
4. Baseline: the classic RFM classes (quintiles of recency, frequency and money; S1 best to S5).
Every random choice comes from the run's seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import DBSCAN, HDBSCAN, OPTICS, AgglomerativeClustering, KMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from cdp.features.compute import FeatureMatrix

VARIANCE_KEPT = 0.85
K_RANGE = (2, 15)
FIT_SAMPLE = 20_000  # customers the clustering is fitted on
SCORE_SAMPLE = 5_000  # customers silhouette is measured on (it is quadratic)
DENSITY_SAMPLE = 5_000  # OPTICS and Ward are quadratic in memory or time
PREDICT_CHUNK = 50_000
NOISE_SHUFFLES = 5  # shuffled copies of the data whose eigenvalues make the noise floor
NOISE_QUANTILE = 95  # a component is kept if its eigenvalue beats this percentile of the shuffled copies'
NOISE = -1


@dataclass
class Clustering:
    labels: np.ndarray  # one per customer of the matrix; NOISE for density methods' outliers
    k: int
    pipeline: Pipeline
    embedded_sample: np.ndarray  # the fit sample in the transformed space (for the scatter)
    sample_index: np.ndarray
    metrics: dict = field(default_factory=dict)
    curve: list[dict] = field(default_factory=list)
    parameters: dict = field(default_factory=dict)


def _log1p_nonnegative(values: np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(values, 0, None))


def _weigh(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return values * weights


def feature_family(name: str) -> str:
    """The behaviour a feature measures: one family for the retailer's categories, one for its channels, one for its
    interaction types, one for the time of day and week, one for seasonality; every other feature its own."""
    if name.startswith("share_category_"):
        return "categories"
    if name.startswith("share_channel_"):
        return "channels"
    if name.startswith("events_") and name != "events_365d":
        return "event_types"
    if name in ("weekend_share", "morning_share", "evening_share"):
        return "time"
    if name in ("month_concentration", "gift_season_share"):
        return "season"
    return name


def family_weights(names: list[str]) -> np.ndarray:
    """1/sqrt(family size) per feature: each behaviour weighs the same in the distance whatever number of columns
    it brings (a catalogue of twelve categories must not outweigh recency and frequency)."""
    sizes: dict[str, int] = {}
    for name in names:
        sizes[feature_family(name)] = sizes.get(feature_family(name), 0) + 1
    return np.array([1 / np.sqrt(sizes[feature_family(name)]) for name in names])


class NoiseFloorPCA(TransformerMixin, BaseEstimator):
    """Principal components, whitened: at most those carrying `variance` of the variance, and of those only the ones
    above the noise floor (eigenvalue larger than the `NOISE_QUANTILE` percentile of the same rank's eigenvalue in
    `NOISE_SHUFFLES` copies of the data with every column shuffled apart). At least two when the data has two."""

    def __init__(self, variance: float = 0.85, random_state: int | None = None):
        self.variance = variance
        self.random_state = random_state

    def fit(self, X, y=None):  # noqa: N803 (scikit-learn's names)
        X = np.asarray(X, dtype=float)
        full = PCA(svd_solver="full").fit(X)
        cumulative = np.cumsum(full.explained_variance_ratio_)
        for_variance = min(int(np.searchsorted(cumulative, self.variance - 1e-12)) + 1, len(cumulative))
        rng = np.random.default_rng(self.random_state)
        shuffled = [
            PCA(svd_solver="full").fit(np.column_stack([rng.permutation(column) for column in X.T])).explained_variance_
            for _ in range(NOISE_SHUFFLES)
        ]
        floor = np.percentile(np.array(shuffled), NOISE_QUANTILE, axis=0)
        at_floor = full.explained_variance_ <= floor
        above_noise = int(np.argmax(at_floor)) if at_floor.any() else len(floor)
        kept = max(min(for_variance, above_noise), min(2, len(cumulative)))
        self.components_for_variance_, self.components_above_noise_ = for_variance, above_noise
        self.pca_ = PCA(n_components=kept, svd_solver="full", whiten=True, random_state=self.random_state).fit(X)
        self.n_components_ = kept
        self.explained_variance_ratio_ = self.pca_.explained_variance_ratio_
        return self

    def transform(self, X):  # noqa: N803
        return self.pca_.transform(X)


def build_pipeline(matrix: FeatureMatrix, *, variance: float, seed: int) -> tuple[Pipeline, list[int]]:
    """The transform, over the features that vary (a constant column says nothing about anyone)."""
    spread = matrix.values.std(axis=0) if len(matrix.customer_ids) else np.zeros(len(matrix.features))
    used = [index for index, value in enumerate(spread) if value > 1e-12]
    skewed = [position for position, index in enumerate(used) if matrix.features[index].skewed]
    plain = [position for position in range(len(used)) if position not in skewed]
    columns = ColumnTransformer(
        [("log", FunctionTransformer(_log1p_nonnegative), skewed), ("plain", "passthrough", plain)],
        sparse_threshold=0,
    )
    # the ColumnTransformer puts the logged columns first, then the others: the weights follow that order
    ordered = [matrix.features[used[position]].name for position in (*skewed, *plain)]
    pipeline = Pipeline(
        [
            ("transform", columns),
            ("scale", StandardScaler()),
            ("weigh", FunctionTransformer(_weigh, kw_args={"weights": family_weights(ordered)})),
            ("pca", NoiseFloorPCA(variance=variance, random_state=seed)),
        ]
    )
    return pipeline, used


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, size=size, replace=False)) if n > size else np.arange(n)


def _scores(points: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> dict:
    kept = labels != NOISE
    points, labels = points[kept], labels[kept]
    if len(set(labels.tolist())) < 2 or len(points) < 3:
        return {"silhouette": None, "calinski_harabasz": None, "davies_bouldin": None}
    index = _sample(len(points), SCORE_SAMPLE, rng)
    sample_labels = labels[index]
    silhouette = float(silhouette_score(points[index], sample_labels)) if len(set(sample_labels.tolist())) > 1 else None
    return {
        "silhouette": silhouette,
        "calinski_harabasz": float(calinski_harabasz_score(points, labels)),
        "davies_bouldin": float(davies_bouldin_score(points, labels)),
    }


def _predict_all(pipeline: Pipeline, matrix: FeatureMatrix, used: list[int], assign) -> np.ndarray:
    labels = np.empty(len(matrix.customer_ids), dtype=np.int64)
    for start in range(0, len(labels), PREDICT_CHUNK):
        chunk = matrix.values[start : start + PREDICT_CHUNK][:, used]
        labels[start : start + PREDICT_CHUNK] = assign(pipeline.transform(chunk))
    return labels


def cluster(
    matrix: FeatureMatrix,
    *,
    algorithm: str = "kmeans",
    k: int | None = None,
    seed: int = 42,
    variance: float = VARIANCE_KEPT,
    progress=lambda percent, step: None,
) -> Clustering:
    """Cluster the customers of `matrix`; `k` None chooses it (k-means, Ward) over K_RANGE by silhouette."""
    n = len(matrix.customer_ids)
    if n < 3:
        raise ValueError(f"too few customers to segment: {n}")
    rng = np.random.default_rng(seed)
    pipeline, used = build_pipeline(matrix, variance=variance, seed=seed)
    sample_size = DENSITY_SAMPLE if algorithm in ("ward", "optics") else FIT_SAMPLE
    sample_index = _sample(n, sample_size, rng)
    embedded = pipeline.fit_transform(matrix.values[sample_index][:, used])
    pca = pipeline.named_steps["pca"]
    parameters = {
        "algorithm": algorithm,
        "features": [matrix.features[index].name for index in used],
        "log_features": [matrix.features[index].name for index in used if matrix.features[index].skewed],
        "variance_kept": variance,
        "components": int(pca.n_components_),
        "explained_variance": float(pca.explained_variance_ratio_.sum()),
        "whitened": True,
        "components_for_variance": int(pca.components_for_variance_),
        "components_above_noise": int(pca.components_above_noise_),
        "fit_sample": len(sample_index),
        "customers": n,
        "seed": seed,
    }
    progress(40, "clustering")
    if algorithm in ("kmeans", "ward"):
        result = _by_k(matrix, pipeline, used, embedded, algorithm, k, seed, rng, progress)
    else:
        result = _by_density(matrix, pipeline, used, embedded, algorithm, seed)
    result.pipeline, result.embedded_sample, result.sample_index = pipeline, embedded, sample_index
    result.parameters = {**parameters, **result.parameters}
    result.metrics = {**_scores(embedded, result.labels[sample_index], rng), **result.metrics}
    return result


def _fit_k(algorithm: str, k: int, points: np.ndarray, seed: int):
    if algorithm == "ward":
        return AgglomerativeClustering(n_clusters=k, linkage="ward").fit(points)
    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit(points)


def _by_k(matrix, pipeline, used, embedded, algorithm, k, seed, rng, progress) -> Clustering:
    low, high = K_RANGE
    high = min(high, len(embedded) - 1)
    candidates = [k] if k else list(range(low, high + 1))
    curve = []
    for position, candidate in enumerate(candidates):
        model = _fit_k(algorithm, candidate, embedded, seed)
        row = {"k": candidate, **_scores(embedded, model.labels_, rng)}
        if algorithm == "kmeans":
            row["inertia"] = float(model.inertia_)
        curve.append(row)
        progress(40 + int(40 * (position + 1) / len(candidates)), f"k = {candidate}")
    best = max(curve, key=lambda row: (row["silhouette"] or -1.0, -row["k"]))
    chosen = best["k"]
    model = _fit_k(algorithm, chosen, embedded, seed)
    if algorithm == "kmeans":
        labels = _predict_all(pipeline, matrix, used, model.predict)
    else:  # Ward has no predict: nearest sampled neighbours
        knn = KNeighborsClassifier(n_neighbors=5).fit(embedded, model.labels_)
        labels = _predict_all(pipeline, matrix, used, knn.predict)
    return Clustering(
        labels=labels,
        k=chosen,
        pipeline=pipeline,
        embedded_sample=embedded,
        sample_index=np.arange(0),
        curve=curve,
        parameters={"k_chosen_by": "silhouette" if not k else "given"},
    )


def _eps(points: np.ndarray, min_samples: int) -> float:
    """DBSCAN's radius from the data: the knee of the sorted distances to each point's min_samples-th neighbour,
    taken as their 90th percentile (a plain, general rule)."""
    distances, _ = NearestNeighbors(n_neighbors=min_samples).fit(points).kneighbors(points)
    return float(np.percentile(distances[:, -1], 90))


def _by_density(matrix, pipeline, used, embedded, algorithm, seed) -> Clustering:
    min_samples = max(5, len(embedded) // 500)
    parameters = {"min_samples": min_samples}
    if algorithm == "hdbscan":
        model = HDBSCAN(min_cluster_size=max(10, len(embedded) // 100), min_samples=min_samples, copy=True)
        model = model.fit(embedded)
    elif algorithm == "optics":
        model = OPTICS(min_samples=min_samples, min_cluster_size=0.02).fit(embedded)
    else:
        eps = _eps(embedded, min_samples)
        parameters["eps"] = eps
        model = DBSCAN(eps=eps, min_samples=min_samples).fit(embedded)
    sample_labels = model.labels_
    clustered = sample_labels != NOISE
    if clustered.sum() == 0:
        labels = np.full(len(matrix.customer_ids), NOISE)
    else:
        # a customer outside the sample takes its nearest clustered neighbours' label, unless it is far from them
        knn = KNeighborsClassifier(n_neighbors=5).fit(embedded[clustered], sample_labels[clustered])
        reach = NearestNeighbors(n_neighbors=1).fit(embedded[clustered])
        limit = float(np.percentile(reach.kneighbors(embedded[clustered], n_neighbors=2)[0][:, 1], 99))

        def assign(points: np.ndarray) -> np.ndarray:
            found = knn.predict(points)
            distance = reach.kneighbors(points)[0][:, 0]
            return np.where(distance <= limit, found, NOISE)

        labels = _predict_all(pipeline, matrix, used, assign)
    k = len(set(labels.tolist()) - {NOISE})
    noise_share = float((labels == NOISE).mean())
    return Clustering(
        labels=labels,
        k=k,
        pipeline=pipeline,
        embedded_sample=embedded,
        sample_index=np.arange(0),
        parameters=parameters,
        metrics={"noise_share": noise_share},
    )


def rfm_classes(matrix: FeatureMatrix) -> np.ndarray:
    """S1 (best) to S5: the sum of recency, frequency and money quintiles (1-5 each), in five bands."""

    def quintile(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
        ranks = values.argsort(kind="stable").argsort(kind="stable") / max(len(values) - 1, 1)
        scores = np.minimum((ranks * 5).astype(int) + 1, 5)
        return scores if higher_is_better else 6 - scores

    score = (
        quintile(matrix.column("recency_days"), False)
        + quintile(matrix.column("frequency"), True)
        + quintile(matrix.column("monetary"), True)
    )
    bands = np.digitize(score, [5, 7, 10, 13])  # 3-4, 5-6, 7-9, 10-12, 13-15
    return 5 - bands  # S1 = 1 for the best band
