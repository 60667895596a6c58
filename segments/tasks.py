"""Celery entry points of segments (routed to the `ml` queue): thin, ids in, the run row says how it went."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=0)
def segmentation_run_execute_task(self, run_id: int) -> int:
    from segments.services.clustering import segmentation_run_execute

    return segmentation_run_execute(run_id=run_id).pk


@shared_task(acks_late=True, reject_on_worker_lost=True)
def segment_assign_task() -> dict:
    """Nightly: assign new and changed customers to the active segmentation (nothing to do without one)."""
    from segments.models import SegmentationRun
    from segments.services.assignment import segment_assign

    if not SegmentationRun.objects.filter(is_active=True).exists():
        return {}
    return segment_assign()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def scores_refresh_task() -> dict:
    """Nightly: the active models score today's profilable customers again (nothing to do without one)."""
    from segments.services.scoring import scores_refresh

    return scores_refresh()
