"""The step machine of a data-subject request (consent.services.request_steps): the admin and the API offer a step
only where it applies."""

from __future__ import annotations

import datetime as dt

import pytest

from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.services import request_steps as steps
from consent.services import requests as dsr
from consent.services.erasure import subject_erase
from consent.services.restriction import restriction_apply
from tests.cdp.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def new(kind: str, **extra):
    return dsr.dsr_create(kind=kind, received_via="email", **({"subject_reference": "letter"} | extra))


def test_a_new_request_offers_linking_verifying_extending_and_rejecting_but_not_completing():
    request = new("access")
    assert steps.dsr_steps_available(request) == [steps.LINK, steps.VERIFY, steps.EXTEND, steps.REJECT]
    with pytest.raises(ValidationError, match=dsr.NOT_VERIFIED):
        steps.dsr_step_require(request, steps.COMPLETE)


def test_a_verified_request_offers_its_kinds_steps_and_completing():
    request = new("portability", customer=CustomerFactory())
    request = dsr.dsr_verify_identity(request=request, method="call-back")
    assert steps.dsr_steps_available(request) == [steps.EXTEND, steps.EXPORT, steps.COMPLETE, steps.REJECT]
    with pytest.raises(ValidationError, match="for Erasure"):
        steps.dsr_step_require(request, steps.ERASE)


def test_after_the_erasure_no_customer_can_be_linked_again():
    # given a verified erasure request, carried out
    customer = CustomerFactory()
    request = dsr.dsr_verify_identity(request=new("erasure", customer=customer), method="signed letter")
    subject_erase(customer=customer, reason="Art. 17", request=request)
    request.refresh_from_db()
    # then the request (whose customer is gone) offers completing it, never linking a customer or erasing again
    assert request.customer_id is None
    assert steps.dsr_steps_available(request) == [steps.EXTEND, steps.COMPLETE, steps.REJECT]


def test_restriction_offers_restrict_then_lift():
    customer = CustomerFactory()
    request = dsr.dsr_verify_identity(request=new("restriction", customer=customer), method="in store")
    assert steps.RESTRICT in steps.dsr_steps_available(request)
    assert steps.LIFT not in steps.dsr_steps_available(request)
    restriction_apply(customer=customer, reason="contested accuracy", request=request)
    assert steps.RESTRICT not in steps.dsr_steps_available(request)
    assert steps.LIFT in steps.dsr_steps_available(request)


def test_the_deadline_is_extended_within_the_first_month_and_up_to_two_months_only():
    late = new("access", received_at=timezone.now() - dt.timedelta(days=40))
    assert steps.EXTEND not in steps.dsr_steps_available(late)
    extended = dsr.dsr_extend(request=new("access"), months=2, reason="archives")
    assert steps.EXTEND not in steps.dsr_steps_available(extended)


def test_a_closed_request_takes_no_step():
    request = dsr.dsr_reject(request=new("access"), reason="unfounded")
    assert steps.dsr_steps_available(request) == []
    with pytest.raises(ValidationError, match=dsr.NOT_OPEN):
        steps.dsr_step_require(request, steps.REJECT)


def test_the_admin_and_the_api_leave_the_step_rules_to_the_service():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    admin = (root / "consent" / "admin_requests.py").read_text(encoding="utf-8")
    api = (root / "consent" / "api" / "requests.py").read_text(encoding="utf-8")
    # no kind of request, no verification rule is decided in either: they ask consent.services.request_steps
    for text in (admin, api):
        assert "RequestKind.ACCESS" not in text
        assert "RequestKind.ERASURE" not in text
        assert "needs_verified" not in text
    assert "steps.dsr_steps_available(" in admin
    assert "dsr_step_require(" in api


def test_the_unmerge_page_calls_the_service_and_reads_through_a_selector():
    from pathlib import Path

    admin = (Path(__file__).resolve().parents[2] / "cdp" / "admin.py").read_text(encoding="utf-8")
    view = admin[admin.index("def unmerge_view") : admin.index("def has_change_permission")]
    assert "customer_unmerge(" in view
    assert "customer_merge_in_force(" in view
    assert "MergeEvent" not in view
