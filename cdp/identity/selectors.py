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
