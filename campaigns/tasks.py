"""Celery entry points of campaigns (the `ml` queue): thin, ids in, the brief row says how it went."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=0)
def brief_generate_task(self, brief_id: int) -> int:
    from campaigns.services.briefs import brief_generate

    return brief_generate(brief_id=brief_id).pk


@shared_task(acks_late=True, reject_on_worker_lost=True)
def brief_purge_expired_task() -> int:
    from campaigns.services.briefs import brief_purge_expired

    return brief_purge_expired()
