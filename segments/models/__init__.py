"""Models of segmentation (runs, segments, memberships) and of scoring."""

from segments.models.clustering import Segment, SegmentationRun, SegmentMembership

__all__ = ["Segment", "SegmentMembership", "SegmentationRun"]
