"""Reads for identity resolution: a review's two records side by side."""

from __future__ import annotations

from dataclasses import dataclass

from cdp.models import MergeReview, PersonFields


@dataclass(frozen=True)
class SideBySideRow:
    field: str
    left: str
    right: str
    same: bool


def merge_review_side_by_side(review: MergeReview) -> list[SideBySideRow]:
    """Source, id and each person field of both records (the caller select_related both sides' sources)."""
    rows = [
        SideBySideRow("source", review.left.source.key, review.right.source.key, False),
        SideBySideRow("external id", review.left.external_id, review.right.external_id, False),
    ]
    for name in PersonFields.PERSON_FIELDS:
        left = getattr(review.left, name) or ""
        right = getattr(review.right, name) or ""
        rows.append(SideBySideRow(name.replace("_", " "), str(left), str(right), bool(left) and left == right))
    return rows


# Levels that carry most of the evidence when a pair agrees on them (the model's strongest levels, by label).
_STRONG_LEVEL_WORDS = ("equal", "exact", "same address", "swapped", "close", "one slip", "aliases")
NO_REASON_RECORDED = "queued before the reason of each pair was recorded"


def merge_review_explanation(review: MergeReview, auto_threshold: float) -> str:
    """For a pair the model is sure of but a rule holds: what the evidence says, what the rule says, what to check.

    Empty for a pair in the review band (its reason says it all) and for decided pairs.
    """
    if review.status != MergeReview.Status.PENDING or review.probability < auto_threshold:
        return ""
    agreeing = [
        f"{name.replace('_', ' ')} ({level.lower()})"
        for name, level in review.levels.items()
        if level and any(word in level.lower() for word in _STRONG_LEVEL_WORDS)
    ]
    evidence = ", ".join(agreeing) if agreeing else "the identifiers they share"
    return (
        f"The model puts these records at {review.probability:.3f} on {evidence}, so the evidence is overwhelming; "
        f"only the rule stops the merge: {review.why or NO_REASON_RECORDED}. The rule keeps apart twins, siblings "
        "and parents with their children, who share a family name, an address and sometimes a birth date; it also "
        "holds a given name mistyped twice or beyond one slip. Accept if the side-by-side values are one person."
    )
