"""The demo's data-subject requests: a few, in different states, for the DPO to practise on (each is handled through
consent's services, as the admin would)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from cdp.models import Customer
from cdp.pipeline import DemoContext
from consent.models import DataSubjectRequest
from consent.services import requests as dsr
from consent.services.restriction import objection_record, restriction_apply

DEMO_MARK = "Demo request"  # in each request's details: a second run of the demo adds none


def _received(days_ago: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days_ago)


def requests_step(ctx: DemoContext) -> str:
    if DataSubjectRequest.objects.filter(details__startswith=DEMO_MARK).exists():
        return "the demo's data-subject requests are already there"
    customers = list(Customer.objects.active().exclude(email="").order_by("created_at", "id")[:5])
    if len(customers) < 5:
        return "too few customers for the demo's data-subject requests"
    access, portability, erasure, objection, restriction = customers

    def create(kind: str, days_ago: int, via: str, note: str, **extra) -> DataSubjectRequest:
        return dsr.dsr_create(
            kind=kind, received_via=via, received_at=_received(days_ago), details=f"{DEMO_MARK}: {note}", **extra
        )

    create("access", 2, "email", "asks what data we hold about them", customer=access)
    create(
        "rectification",
        6,
        "post",
        "a letter asks to correct a postal address; the sender is not matched to a customer yet",
        subject_reference="letter signed by the sender, received at the head office",
    )
    due_soon = create("portability", 27, "email", "asks for their purchases in a file", customer=portability)
    dsr.dsr_verify_identity(request=due_soon, method="replied from the e-mail address on file")
    overdue = create("erasure", 40, "phone", "asks to be forgotten; verified, not handled yet", customer=erasure)
    dsr.dsr_verify_identity(request=overdue, method="call-back on the phone number on file")
    done = create("objection", 12, "store", "objects to direct marketing", customer=objection)
    done = dsr.dsr_verify_identity(request=done, method="in store, loyalty card and identity card shown")
    objection_record(customer=objection, scope=dsr.OBJECTION_DIRECT_MARKETING, request=done)
    dsr.dsr_complete(request=done, outcome="every direct-marketing purpose withdrawn; the customer was told")
    restricted = create("restriction", 9, "email", "contests the accuracy of their data", customer=restriction)
    restricted = dsr.dsr_verify_identity(request=restricted, method="replied from the e-mail address on file")
    restriction_apply(customer=restriction, reason="accuracy contested (Art. 18(1)(a))", request=restricted)
    return (
        "6 data-subject requests to practise on: 2 received (one without its customer), 3 in progress "
        "(one due within days, one overdue, one restriction in force), 1 completed"
    )
