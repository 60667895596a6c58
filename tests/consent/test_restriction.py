"""Restriction and objection take effect everywhere: processing selectors, imports, merges, admin and profile."""

from __future__ import annotations

import datetime as dt

import pytest

from django.core.exceptions import ValidationError
from django.urls import reverse

from cdp.identity.services import RESTRICTED, IdentityError, customer_merge
from cdp.ingest.guard import RESTRICTED_SUBJECT
from cdp.models import Customer, Identifier, Interaction, SourceRecord
from consent.models import ConsentEvent, ConsentStatus, Purpose, RequestAction
from consent.selectors import consent_allows, customer_ids_processable, customers_processable, restricted_among
from consent.services import requests as dsr
from consent.services.restriction import (
    ALREADY_RESTRICTED,
    objection_record,
    restriction_apply,
    restriction_lift,
)
from tests.cdp.factories import CustomerFactory, SourceRecordFactory
from tests.cdp.importing import read_errors, run_command, write
from tests.consent.factories import ConsentEventFactory

pytestmark = pytest.mark.django_db


def _verified(kind: str, customer, **kwargs):
    request = dsr.dsr_create(kind=kind, received_via="email", customer=customer, **kwargs)
    return dsr.dsr_verify_identity(request=request, method="reply from the address on file")


def test_processable_customers_follow_consent_objection_and_restriction():
    # given four customers who consented to e-mail marketing and profiling
    granted, objector, restricted, withdrawn = CustomerFactory.create_batch(4)
    silent = CustomerFactory()
    for customer in (granted, objector, restricted, withdrawn):
        ConsentEventFactory(customer=customer, purpose_key="email_marketing", channel_key="email")
        ConsentEventFactory(customer=customer, purpose_key="profiling", channel_key=None)
    ConsentEventFactory(customer=withdrawn, purpose_key="email_marketing", status=ConsentStatus.WITHDRAWN)
    # when one objects to direct marketing and another is restricted
    objection_record(customer=objector, scope=dsr.OBJECTION_DIRECT_MARKETING)
    restriction_apply(customer=restricted, reason="accuracy contested (Art. 18(1)(a))")
    # then only the consenting, non-objecting, non-restricted customer may receive e-mail marketing
    assert customer_ids_processable(purpose="email_marketing", channel="email") == {granted.pk}
    # and profiling leaves out the restricted one only (the objection was to direct marketing)
    assert customer_ids_processable(purpose="profiling") == {granted.pk, objector.pk, withdrawn.pk}
    # and the single-customer answer agrees with the set
    for customer in (granted, objector, restricted, withdrawn, silent):
        allowed = consent_allows(customer_id=customer.pk, purpose="email_marketing", channel="email").allowed
        in_set = customer.pk in customer_ids_processable(purpose="email_marketing", channel="email")
        assert allowed == in_set or customer is restricted
    # and every direct-marketing purpose is withdrawn for the objector, purpose-wide
    marketing = set(Purpose.objects.filter(direct_marketing=True).values_list("key", flat=True))
    assert marketing == {"email_marketing", "sms_marketing", "phone_marketing", "postal_marketing", "sales_contact"}
    withdrawals = ConsentEvent.objects.filter(customer=objector, status=ConsentStatus.WITHDRAWN, channel=None)
    assert set(withdrawals.values_list("purpose__key", flat=True)) == marketing


def test_a_legitimate_interest_purpose_is_processable_until_an_objection():
    purpose = Purpose.objects.get(key="analytics")
    purpose.legal_basis = "legitimate_interest"
    purpose.save()
    quiet, objector = CustomerFactory.create_batch(2)
    assert customer_ids_processable(purpose="analytics") >= {quiet.pk, objector.pk}
    objection_record(customer=objector, scope="analytics")
    found = customer_ids_processable(purpose="analytics", customers=Customer.objects.active())
    assert quiet.pk in found
    assert objector.pk not in found


def test_the_processable_set_is_one_query_whatever_the_number_of_customers(django_assert_num_queries):
    for customer in CustomerFactory.create_batch(30):
        ConsentEventFactory(customer=customer, purpose_key="profiling", channel_key=None)
    with django_assert_num_queries(3):  # purpose, channel, the customers
        found = list(customers_processable(purpose="profiling", channel="email").values_list("pk", flat=True))
    assert len(found) == 30


def test_a_restriction_is_applied_once_and_lifted_with_a_reason():
    customer = CustomerFactory()
    request = _verified("restriction", customer)
    restriction_apply(customer=customer, reason="accuracy contested", request=request)
    with pytest.raises(ValidationError, match=ALREADY_RESTRICTED):
        restriction_apply(customer=customer, reason="again")
    assert restricted_among([customer.pk]) == {customer.pk}
    restriction_lift(customer=customer, reason="accuracy checked, subject told", request=request)
    assert restricted_among([customer.pk]) == set()
    actions = list(request.events.values_list("action", flat=True))
    assert RequestAction.RESTRICTED in actions
    assert RequestAction.RESTRICTION_LIFTED in actions


def test_an_objection_request_must_be_verified_and_of_its_kind():
    customer = CustomerFactory()
    unverified = dsr.dsr_create(kind="objection", received_via="email", customer=customer)
    with pytest.raises(ValidationError, match=dsr.NOT_VERIFIED):
        objection_record(customer=customer, scope="profiling", request=unverified)
    wrong = _verified("access", customer)
    with pytest.raises(ValidationError, match="another kind"):
        objection_record(customer=customer, scope="profiling", request=wrong)
    with pytest.raises(ValidationError, match="no purpose matches"):
        objection_record(customer=customer, scope="nothing")


def test_imports_do_not_change_a_restricted_customer(tmp_path):
    record = SourceRecordFactory(external_id="C1", first_name="Ada", customer__first_name="Ada")
    restriction_apply(customer=record.customer, reason="accuracy contested")
    header = "external_id,first_name"
    errors = tmp_path / "errors.csv"
    code, out = run_command(
        "import_customers", write(tmp_path / "c.csv", header, "C1,Adèle", "C2,Bob"), "crm", errors=errors
    )
    assert code == 1, out
    assert [row["reasons"] for row in read_errors(errors)] == [RESTRICTED_SUBJECT]
    assert SourceRecord.objects.get(external_id="C1").first_name == "Ada"
    assert SourceRecord.objects.filter(external_id="C2").exists()
    events = "customer_external_id,timestamp,type,channel\nC1,2025-03-01T10:00:00,page_view,web"
    code, _ = run_command("import_events", write(tmp_path / "e.csv", events), "crm")
    assert code == 1
    assert not Interaction.objects.exists()


def test_identity_resolution_does_not_merge_a_restricted_customer():
    left, right = CustomerFactory.create_batch(2)
    restriction_apply(customer=right, reason="legal claim")
    with pytest.raises(IdentityError, match="restricted"):
        customer_merge(survivor=left, duplicate=right, actor=None, reason="same person")
    assert RESTRICTED.startswith("processing of this customer is restricted")
    assert Customer.objects.get(pk=right.pk).status == Customer.Status.ACTIVE


def test_the_admin_and_the_profile_show_a_restricted_customer_read_only(client, role_users):
    customer = SourceRecordFactory().customer
    restriction_apply(customer=customer, reason="accuracy contested")
    client.force_login(role_users["dpo"])
    page = client.get(reverse("admin:cdp_customer_change", args=[customer.pk]))
    assert page.status_code == 200
    assert b"read-only" in page.content
    assert b'name="first_name"' not in page.content
    posted = client.post(reverse("admin:cdp_customer_change", args=[customer.pk]), {"first_name": "Changed"})
    assert posted.status_code == 403
    assert Customer.objects.get(pk=customer.pk).first_name == customer.first_name
    profile = client.get(reverse("customers:profile", args=[customer.pk]))
    assert b'id="restriction-banner"' in profile.content


def test_the_set_and_the_single_answer_agree_on_ties_and_channels():
    at = dt.datetime(2025, 5, 1, 12, tzinfo=dt.UTC)
    tie, other_channel, purpose_wide = CustomerFactory.create_batch(3)
    # a grant and a withdrawal at the same instant: the withdrawal wins ("when in doubt, don't")
    ConsentEventFactory(customer=tie, occurred_at=at)
    ConsentEventFactory(customer=tie, occurred_at=at, status=ConsentStatus.WITHDRAWN)
    # a grant for SMS does not allow e-mail; a purpose-wide grant does
    ConsentEventFactory(customer=other_channel, channel_key="sms")
    ConsentEventFactory(customer=purpose_wide, channel_key=None)
    found = customer_ids_processable(purpose="email_marketing", channel="email")
    assert found == {purpose_wide.pk}
    for customer in (tie, other_channel, purpose_wide):
        decision = consent_allows(customer_id=customer.pk, purpose="email_marketing", channel="email")
        assert decision.allowed == (customer.pk in found)


def test_a_new_record_matching_a_restricted_customer_is_not_written_into_it(tmp_path):
    # given a restricted CRM customer with an e-mail address
    record = SourceRecordFactory(
        external_id="C1", first_name="Ada", last_name="Lovelace", email="ada@example.org", customer__first_name="Ada"
    )
    Identifier.objects.create(kind="email", value="ada@example.org", customer=record.customer, source_record=record)
    restriction_apply(customer=record.customer, reason="accuracy contested")
    # when another source sends a record with the same address
    header = "external_id,first_name,last_name,email"
    code, out = run_command(
        "import_customers", write(tmp_path / "s.csv", header, "W1,Ada,Lovelace,ada@example.org"), "shop"
    )
    # then the record is kept, as a customer of its own
    assert code == 0, out
    new = SourceRecord.objects.get(external_id="W1")
    assert new.customer_id != record.customer_id
    assert Customer.objects.get(pk=new.customer_id).status == Customer.Status.ACTIVE
