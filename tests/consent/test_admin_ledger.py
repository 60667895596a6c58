"""Staff record a grant or a withdrawal in the admin: appended to the ledger with its proof, never edited."""

from __future__ import annotations

import datetime as dt

import pytest

from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentEvent, Purpose
from consent.selectors import consent_allows
from consent.services.ledger import IN_THE_FUTURE, NO_EVIDENCE, STAFF_SOURCE
from consent.services.policies import policy_version_publish
from tests.cdp.factories import CustomerFactory
from tests.consent.factories import ConsentEventFactory

pytestmark = pytest.mark.django_db
ADD = reverse("admin:consent_consentevent_add")


def _form(customer, purpose: Purpose, status: str, *, evidence: str, when: dt.datetime) -> dict:
    local = timezone.localtime(when)
    return {
        "customer": customer.pk,
        "purpose": purpose.pk,
        "channel": "",
        "status": status,
        "occurred_at_0": local.strftime("%Y-%m-%d"),
        "occurred_at_1": local.strftime("%H:%M:%S"),
        "captured_via": "call_centre",
        "evidence": evidence,
    }


def test_crm_staff_record_a_withdrawal_taken_on_the_phone(crm_client, role_users):
    # given a customer who granted e-mail marketing, and a published wording
    customer = CustomerFactory()
    purpose = Purpose.objects.get(key="email_marketing")
    granted_at = timezone.now() - dt.timedelta(days=30)
    policy_version_publish(purpose=purpose, version="2024-01", text="Offers by e-mail.", published_at=granted_at)
    ConsentEventFactory(customer=customer, purpose=purpose, channel=None, status="granted", occurred_at=granted_at)
    assert consent_allows(customer_id=customer.pk, purpose="email_marketing", channel="email").allowed
    # when a CRM agent records the withdrawal the customer asked for on the phone
    when = timezone.now() - dt.timedelta(minutes=5)
    response = crm_client.post(ADD, _form(customer, purpose, "withdrawn", evidence="call #4411, agent crm", when=when))
    # then it is appended with its proof, the wording in force and the agent, and the customer is no longer e-mailed
    assert response.status_code == 302
    event = ConsentEvent.objects.get(source_key=STAFF_SOURCE)
    assert (event.status, event.captured_via, event.evidence) == ("withdrawn", "call_centre", "call #4411, agent crm")
    assert event.recorded_by == role_users["crm"]
    assert event.policy_version == "2024-01"
    assert ConsentEvent.objects.filter(customer=customer).count() == 2
    assert not consent_allows(customer_id=customer.pk, purpose="email_marketing", channel="email").allowed


@pytest.mark.parametrize(
    ("evidence", "offset", "reason"),
    [("", dt.timedelta(minutes=-5), NO_EVIDENCE), ("signed form 17", dt.timedelta(days=2), IN_THE_FUTURE)],
)
def test_an_event_without_proof_or_in_the_future_is_refused_on_the_form(crm_client, evidence, offset, reason):
    customer = CustomerFactory()
    purpose = Purpose.objects.get(key="sms_marketing")
    form = _form(customer, purpose, "granted", evidence=evidence, when=timezone.now() + offset)
    response = crm_client.post(ADD, form)
    assert response.status_code == 200
    assert reason in response.content.decode()
    assert not ConsentEvent.objects.exists()


def test_a_recorded_event_is_never_changed_in_the_admin(crm_client):
    event = ConsentEventFactory()
    change = reverse("admin:consent_consentevent_change", args=[event.pk])
    page = crm_client.get(change).content.decode()
    assert 'name="_save"' not in page
    crm_client.post(change, {"status": "withdrawn", "evidence": "changed"})
    event.refresh_from_db()
    assert event.evidence != "changed"


def test_marketing_analysts_cannot_record_consent(client, role_users):
    client.force_login(role_users["marketing"])
    assert client.get(ADD).status_code == 403


def test_the_profile_links_to_the_customer_s_whole_ledger(crm_client):
    customer = CustomerFactory()
    mine = ConsentEventFactory(customer=customer)
    ConsentEventFactory()  # another customer's
    changelist = reverse("admin:consent_consentevent_changelist")
    assert f"{changelist}?customer={customer.pk}" in crm_client.get(f"/customers/{customer.pk}/").content.decode()
    response = crm_client.get(changelist, {"customer": str(customer.pk)})
    assert [event.pk for event in response.context["cl"].result_list] == [mine.pk]
