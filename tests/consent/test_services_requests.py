"""Data-subject requests: creation, deadlines (Art. 12(3)), identity verification, closing, and the audit trail."""

from __future__ import annotations

import datetime as dt

import pytest

from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.models import DataSubjectRequest, RequestAction, RequestStatus
from consent.services import requests as dsr
from consent.tasks import dsr_warn_due_task
from tests.cdp.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _request(**kwargs) -> DataSubjectRequest:
    defaults = {"kind": "access", "received_via": "email", "subject_reference": "by e-mail, ticket 41"}
    return dsr.dsr_create(**{**defaults, **kwargs})


def test_a_request_is_due_one_month_after_its_receipt_and_audited(role_users):
    # given a request received on 31 January
    received = dt.datetime(2026, 1, 31, 10, tzinfo=dt.UTC)
    # when it is created
    request = _request(received_at=received, actor=role_users["dpo"])
    # then it is due on the last day of February, and its creation is the first step of its trail
    assert request.due_at == dt.datetime(2026, 2, 28, 10, tzinfo=dt.UTC)
    assert request.original_due_at == request.due_at
    assert request.status == RequestStatus.RECEIVED
    (event,) = request.events.all()
    assert (event.action, event.actor_name, event.to_status) == (RequestAction.CREATED, "dpo", RequestStatus.RECEIVED)


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"kind": "forget-me"}, "kind", dsr.UNKNOWN_KIND),
        ({"received_via": "pigeon"}, "received_via", dsr.UNKNOWN_CHANNEL),
        ({"subject_reference": "  "}, "subject_reference", dsr.NO_SUBJECT),
        ({"received_at": timezone.now() + dt.timedelta(days=2)}, "received_at", dsr.RECEIVED_IN_FUTURE),
        ({"kind": "objection", "objection_scope": "telepathy"}, "objection_scope", dsr.UNKNOWN_OBJECTION_SCOPE),
        ({"objection_scope": "profiling"}, "objection_scope", dsr.OBJECTION_SCOPE_ONLY),
    ],
)
def test_a_bad_request_is_refused_with_its_reason(kwargs, field, message):
    with pytest.raises(ValidationError) as caught:
        _request(**kwargs)
    assert message in " ".join(caught.value.message_dict[field])
    assert not DataSubjectRequest.objects.exists()


def test_the_deadline_is_extended_by_two_months_at_most_with_a_reason():
    request = _request(received_at=timezone.now() - dt.timedelta(days=3))
    with pytest.raises(ValidationError, match=dsr.NO_REASON):
        dsr.dsr_extend(request=request, months=2, reason=" ")
    with pytest.raises(ValidationError, match="two months at most"):
        dsr.dsr_extend(request=request, months=3, reason="complex")
    # when extended by one month, then by two
    dsr.dsr_extend(request=request, months=1, reason="many sources to search")
    request = dsr.dsr_extend(request=request, months=2, reason="many sources to search")
    # then it is due three months after receipt, and each extension is in the trail
    assert request.due_at == dsr.add_months(request.received_at, 3)
    assert request.is_extended
    assert request.events.filter(action=RequestAction.EXTENDED).count() == 2
    with pytest.raises(ValidationError, match=dsr.EXTENSION_NOT_LATER):
        dsr.dsr_extend(request=request, months=1, reason="again")


def test_an_extension_after_the_first_month_is_refused():
    request = _request(received_at=timezone.now() - dt.timedelta(days=40))
    with pytest.raises(ValidationError, match="within one month of receipt"):
        dsr.dsr_extend(request=request, months=2, reason="late")


def test_identity_is_verified_before_anything_is_done_and_a_closed_request_stays_closed(role_users):
    dpo = role_users["dpo"]
    request = _request(customer=CustomerFactory())
    with pytest.raises(ValidationError, match=dsr.NOT_VERIFIED):
        dsr.dsr_require_verified(request)
    with pytest.raises(ValidationError, match=dsr.NOT_VERIFIED):
        dsr.dsr_complete(request=request, outcome="sent", actor=dpo)
    with pytest.raises(ValidationError, match=dsr.NO_METHOD):
        dsr.dsr_verify_identity(request=request, method="", actor=dpo)
    request = dsr.dsr_verify_identity(request=request, method="answered from the address on file", actor=dpo)
    assert request.status == RequestStatus.IN_PROGRESS
    dsr.dsr_require_verified(request)  # no error now
    request = dsr.dsr_complete(request=request, outcome="archive sent", actor=dpo)
    assert (request.status, request.closed_by) == (RequestStatus.COMPLETED, dpo)
    with pytest.raises(ValidationError, match=dsr.NOT_OPEN):
        dsr.dsr_reject(request=request, reason="too late", actor=dpo)
    actions = list(request.events.values_list("action", "from_status", "to_status"))
    assert actions == [
        (RequestAction.CREATED, "received", "received"),
        (RequestAction.IDENTITY_VERIFIED, "received", "in_progress"),
        (RequestAction.COMPLETED, "in_progress", "completed"),
    ]


def test_the_beat_task_warns_once_per_due_date(role_users):
    # given a DPO with an address, a request due in three days, one overdue, one due in a month, one closed
    role_users["dpo"].email = "dpo@retailer.example"
    role_users["dpo"].save()
    now = timezone.now()
    soon = _request(received_at=now - dt.timedelta(days=27))
    late = _request(received_at=now - dt.timedelta(days=40))
    _request(received_at=now - dt.timedelta(days=1))
    closed = _request(received_at=now - dt.timedelta(days=28))
    dsr.dsr_reject(request=closed, reason="identity not proved")
    # when the beat task runs twice
    first = dsr_warn_due_task.apply().get()
    trail_after_first = list(DataSubjectRequest.objects.values_list("pk", "deadline_warned_for"))
    second = dsr_warn_due_task.apply().get()
    # then the two open requests due soon are warned once, in one e-mail, and the second run changes nothing
    assert (first, second) == (2, 0)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dpo@retailer.example"]
    assert "OVERDUE" in mail.outbox[0].body
    assert list(DataSubjectRequest.objects.values_list("pk", "deadline_warned_for")) == trail_after_first
    warned = DataSubjectRequest.objects.filter(events__action=RequestAction.DEADLINE_WARNING)
    assert set(warned.values_list("pk", flat=True)) == {soon.pk, late.pk}
    # and an extension moves the date, which earns a new warning when it comes near
    assert dsr.dsr_warn_due(now=soon.due_at + dt.timedelta(days=1)) == 0
    DataSubjectRequest.objects.filter(pk=soon.pk).update(due_at=soon.due_at + dt.timedelta(days=1))
    assert dsr.dsr_warn_due(now=now) == 1


def test_an_objection_covers_direct_marketing_unless_a_purpose_is_named():
    assert _request(kind="objection").objection_scope == dsr.OBJECTION_DIRECT_MARKETING
    assert _request(kind="objection", objection_scope="profiling").objection_scope == "profiling"
