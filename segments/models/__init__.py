"""Models of segmentation (runs, segments, memberships) and of scoring (model versions, customer scores)."""

from segments.models.clustering import Segment, SegmentationRun, SegmentMembership
from segments.models.scoring import CustomerScore, ModelVersion

__all__ = ["CustomerScore", "ModelVersion", "Segment", "SegmentMembership", "SegmentationRun"]
