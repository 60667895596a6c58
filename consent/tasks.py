"""Thin Celery entry points of the consent app: each calls one service."""

from __future__ import annotations

from celery import shared_task

# --- Data-subject requests -------------------------------------------------------------------------------------------


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=3, ignore_result=True)
def subject_export_task(self, request_id: int, actor_id: int | None = None) -> None:
    """Produce the portability archive of a request's subject (no result is stored: it would be about the subject)."""
    from consent.services.export import subject_export_for_request

    subject_export_for_request(request_id=request_id, actor_id=actor_id, task_id=self.request.id or "")


@shared_task(ignore_result=True)
def dsr_warn_due_task() -> int:
    """Beat: warn the DPOs about requests due within five days (each due date once)."""
    from consent.services.requests import dsr_warn_due

    return dsr_warn_due()


@shared_task(ignore_result=True)
def subject_export_purge_task() -> int:
    """Beat: remove portability archives never downloaded within a week."""
    from consent.services.export import subject_export_purge

    return subject_export_purge()


# --- Retention -------------------------------------------------------------------------------------------------------


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def retention_apply_task(self) -> int:
    """Beat, every night: apply each purpose's retention period; the processing register records the run."""
    from consent.services.retention import retention_apply

    return retention_apply().pk
