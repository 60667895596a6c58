"""Quality of a clustering against a truth mapping: pairwise precision, recall and F1, and B-cubed F1."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Quality:
    precision: float
    recall: float
    f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    records: int
    predicted_pairs: int
    true_pairs: int


def _pairs(size: int) -> int:
    return size * (size - 1) // 2


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def clustering_quality(predicted: Mapping[Hashable, Hashable], truth: Mapping[Hashable, Hashable]) -> Quality:
    """Compare two mappings record -> cluster over the records both know."""
    records = [record for record in predicted if record in truth]
    predicted_sizes = Counter(predicted[r] for r in records)
    true_sizes = Counter(truth[r] for r in records)
    both = Counter((predicted[r], truth[r]) for r in records)
    predicted_pairs = sum(_pairs(n) for n in predicted_sizes.values())
    true_pairs = sum(_pairs(n) for n in true_sizes.values())
    common_pairs = sum(_pairs(n) for n in both.values())
    precision = common_pairs / predicted_pairs if predicted_pairs else 1.0
    recall = common_pairs / true_pairs if true_pairs else 1.0
    bp = br = 0.0
    for r in records:
        shared = both[(predicted[r], truth[r])]
        bp += shared / predicted_sizes[predicted[r]]
        br += shared / true_sizes[truth[r]]
    n = len(records) or 1
    bp, br = bp / n, br / n
    return Quality(
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        bcubed_precision=bp,
        bcubed_recall=br,
        bcubed_f1=_f1(bp, br),
        records=len(records),
        predicted_pairs=predicted_pairs,
        true_pairs=true_pairs,
    )


def clusters_of(pairs: list[tuple[Hashable, Hashable]]) -> dict[Hashable, list[Hashable]]:
    """Group (record, cluster) pairs by cluster."""
    grouped: dict[Hashable, list[Hashable]] = defaultdict(list)
    for record, cluster in pairs:
        grouped[cluster].append(record)
    return grouped
