"""The consent ledger: seeded purposes and channels, latest event wins, objections, read-only admin, roles."""

from __future__ import annotations

import datetime as dt

import pytest

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse

from consent import selectors
from consent.models import Channel, ConsentEvent, ConsentStatus, LegalBasis, PolicyVersion, Purpose
from consent.selectors import ConsentDecision, ConsentLookupError, consent_allows, consent_current_state
from consent.services.policies import policy_version_publish
from tests.cdp.factories import CustomerFactory
from tests.consent.factories import ConsentEventFactory

pytestmark = pytest.mark.django_db

GRANTED, WITHDRAWN = ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN
JAN = dt.datetime(2025, 1, 10, 12, tzinfo=dt.UTC)


def at(days: int) -> dt.datetime:
    return JAN + dt.timedelta(days=days)


def test_the_migration_seeds_the_contract_purposes_and_channels():
    # then every purpose of DESIGN.md exists, active, with its legal basis and retention period
    seeded = {p.key: (p.legal_basis, p.retention_days, p.is_active) for p in Purpose.objects.all()}
    assert set(seeded) == {
        "email_marketing",
        "sms_marketing",
        "phone_marketing",
        "postal_marketing",
        "sales_contact",
        "profiling",
        "personalisation",
        "analytics",
    }
    assert seeded["email_marketing"] == (LegalBasis.CONSENT, 3 * 365, True)
    assert seeded["profiling"][0] == LegalBasis.CONSENT
    assert seeded["analytics"] == (LegalBasis.LEGITIMATE_INTEREST, 395, True)
    assert set(Channel.objects.values_list("key", flat=True)) == {
        "email",
        "sms",
        "phone",
        "post",
        "web",
        "store",
        "app",
    }


def test_a_retention_period_must_be_positive():
    purpose = Purpose.objects.get(key="email_marketing")
    purpose.retention_days = 0
    with pytest.raises(IntegrityError):
        purpose.save()


@pytest.mark.parametrize(
    ("history", "allowed", "reason"),
    [
        ([], False, selectors.NO_CONSENT),
        ([(0, GRANTED)], True, selectors.CONSENT_GRANTED),
        ([(0, GRANTED), (5, WITHDRAWN)], False, selectors.CONSENT_WITHDRAWN),
        ([(0, WITHDRAWN), (5, GRANTED)], True, selectors.CONSENT_GRANTED),
        ([(5, WITHDRAWN), (0, GRANTED)], False, selectors.CONSENT_WITHDRAWN),  # recorded out of order
        ([(0, WITHDRAWN), (0, GRANTED)], False, selectors.CONSENT_WITHDRAWN),  # same instant: withdrawal wins
    ],
)
def test_the_latest_event_decides_a_consent_purpose(history, allowed, reason):
    # given a customer's e-mail marketing events
    customer = CustomerFactory()
    for days, status in history:
        ConsentEventFactory(customer=customer, status=status, occurred_at=at(days))
    # when we ask whether e-mail marketing is allowed
    decision = consent_allows(customer_id=customer.pk, purpose="email_marketing", channel="email")
    # then the latest event decides, and says why
    assert decision.allowed is allowed
    assert decision.legal_basis == LegalBasis.CONSENT
    assert decision.reason.startswith(reason)


def test_consent_on_one_channel_does_not_allow_another():
    # given a grant for personalisation by e-mail only
    customer = CustomerFactory()
    ConsentEventFactory(customer=customer, purpose_key="personalisation", channel_key="email")
    # then personalisation on the web is not allowed, by e-mail it is, and asked without a channel it is
    assert not consent_allows(customer_id=customer.pk, purpose="personalisation", channel="web").allowed
    assert consent_allows(customer_id=customer.pk, purpose="personalisation", channel="email").allowed
    assert consent_allows(customer_id=customer.pk, purpose="personalisation", channel=None).allowed


def test_an_event_without_a_channel_counts_for_every_channel():
    customer = CustomerFactory()
    ConsentEventFactory(customer=customer, purpose_key="profiling", channel_key=None, occurred_at=at(0))
    assert consent_allows(customer_id=customer.pk, purpose="profiling", channel="store").allowed
    # a later withdrawal on one channel only closes that channel
    ConsentEventFactory(
        customer=customer, purpose_key="profiling", channel_key="web", status=WITHDRAWN, occurred_at=at(1)
    )
    assert not consent_allows(customer_id=customer.pk, purpose="profiling", channel="web").allowed
    assert consent_allows(customer_id=customer.pk, purpose="profiling", channel="store").allowed


def test_a_legitimate_interest_purpose_is_allowed_until_an_objection():
    # given a customer with no event for analytics (legitimate interest)
    customer = CustomerFactory()
    # then analytics is allowed
    decision = consent_allows(customer_id=customer.pk, purpose="analytics", channel="web")
    assert decision == ConsentDecision(True, LegalBasis.LEGITIMATE_INTEREST, selectors.NO_OBJECTION)
    # when the customer objects, on any channel
    ConsentEventFactory(
        customer=customer, purpose_key="analytics", channel_key="app", status=WITHDRAWN, occurred_at=at(0)
    )
    # then analytics is refused on every channel (Art. 21 objects to the purpose)
    for channel in ("web", "app", None):
        decision = consent_allows(customer_id=customer.pk, purpose="analytics", channel=channel)
        assert not decision.allowed
        assert decision.reason.startswith(selectors.OBJECTION)
    # and another customer is not affected
    assert consent_allows(customer_id=CustomerFactory().pk, purpose="analytics", channel="web").allowed


def test_an_inactive_purpose_allows_nothing():
    customer = CustomerFactory()
    ConsentEventFactory(customer=customer)
    Purpose.objects.filter(key="email_marketing").update(is_active=False)
    decision = consent_allows(customer_id=customer.pk, purpose="email_marketing", channel="email")
    assert decision == ConsentDecision(False, LegalBasis.CONSENT, selectors.PURPOSE_INACTIVE)


@pytest.mark.parametrize(
    ("purpose", "channel", "message"),
    [("newsletter", "email", "unknown purpose 'newsletter'"), ("email_marketing", "fax", "unknown channel 'fax'")],
)
def test_an_unknown_purpose_or_channel_is_an_error_not_a_refusal(purpose, channel, message):
    with pytest.raises(ConsentLookupError, match=message):
        consent_allows(customer_id=CustomerFactory().pk, purpose=purpose, channel=channel)


def test_current_state_is_the_latest_event_per_purpose_and_channel_in_one_query(django_assert_num_queries):
    # given two customers with several events, and a third with none
    anne, paul, nobody = CustomerFactory(), CustomerFactory(), CustomerFactory()
    ConsentEventFactory(customer=anne, status=GRANTED, occurred_at=at(0))
    ConsentEventFactory(customer=anne, status=WITHDRAWN, occurred_at=at(3), captured_via="email")
    ConsentEventFactory(customer=anne, purpose_key="sms_marketing", channel_key="sms", occurred_at=at(1))
    ConsentEventFactory(customer=paul, status=WITHDRAWN, occurred_at=at(0))
    ConsentEventFactory(customer=paul, status=GRANTED, occurred_at=at(2), policy_version="2025-06")
    ConsentEventFactory(customer=paul, purpose_key="profiling", channel_key=None, occurred_at=at(2))
    # when the current state of all three is read
    with django_assert_num_queries(1):
        state = consent_current_state(customer_ids=[anne.pk, paul.pk, nobody.pk])
    # then each (customer, purpose, channel) has its latest event
    assert {key: value.status for key, value in state.items()} == {
        (anne.pk, "email_marketing", "email"): WITHDRAWN,
        (anne.pk, "sms_marketing", "sms"): GRANTED,
        (paul.pk, "email_marketing", "email"): GRANTED,
        (paul.pk, "profiling", None): GRANTED,
    }
    assert state[(anne.pk, "email_marketing", "email")].captured_via == "email"
    assert state[(anne.pk, "email_marketing", "email")].occurred_at == at(3)
    assert state[(paul.pk, "email_marketing", "email")].policy_version == "2025-06"
    assert state[(paul.pk, "email_marketing", "email")].granted


def test_current_state_reads_customers_in_chunks(monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(selectors, "CHUNK_SIZE", 2)
    customers = CustomerFactory.create_batch(5)
    for customer in customers:
        ConsentEventFactory(customer=customer)
    with django_assert_num_queries(3):
        state = consent_current_state(customer_ids=(c.pk for c in customers))
    assert len(state) == 5


def test_a_policy_version_is_published_once_and_never_replaced():
    purpose = Purpose.objects.get(key="email_marketing")
    policy = policy_version_publish(purpose=purpose, version="2024-01", text="We will e-mail you our offers.")
    assert policy.published_at is not None
    with pytest.raises(ValidationError):
        policy_version_publish(purpose=purpose, version="2024-01", text="Other words.")
    assert PolicyVersion.objects.get().text == "We will e-mail you our offers."


def test_the_admin_never_changes_or_deletes_ledger_events(admin_client_):
    # given an event in the ledger
    event = ConsentEventFactory()
    # then the superuser can list and read it, but not change or delete it (adding appends: test_admin_ledger.py)
    assert admin_client_.get(reverse("admin:consent_consentevent_changelist")).status_code == 200
    change_url = reverse("admin:consent_consentevent_change", args=[event.pk])
    page = admin_client_.get(change_url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    admin_client_.post(change_url, {"status": WITHDRAWN})
    assert admin_client_.post(reverse("admin:consent_consentevent_delete", args=[event.pk])).status_code == 403
    event.refresh_from_db()
    assert event.status == GRANTED


def test_the_ledger_changelist_is_searched_by_the_exact_subject_id(admin_client_):
    ConsentEventFactory(subject_external_id="C42")
    ConsentEventFactory(subject_external_id="C420")
    response = admin_client_.get(reverse("admin:consent_consentevent_changelist"), {"q": "C42"})
    assert [e.subject_external_id for e in response.context["cl"].result_list] == ["C42"]


def test_a_policy_version_is_created_in_the_admin_then_read_only(admin_client_):
    # given a version added in the admin
    purpose = Purpose.objects.get(key="sms_marketing")
    add = admin_client_.post(
        reverse("admin:consent_policyversion_add"),
        {
            "purpose": purpose.pk,
            "version": "2025-06",
            "text": "Offers by SMS.",
            "published_at_0": "2025-06-02",
            "published_at_1": "09:00:00",
        },
    )
    assert add.status_code == 302
    policy = PolicyVersion.objects.get()
    # when someone tries to change its wording
    change_url = reverse("admin:consent_policyversion_change", args=[policy.pk])
    assert 'name="text"' not in admin_client_.get(change_url).content.decode()
    admin_client_.post(change_url, {"purpose": purpose.pk, "version": "2025-06", "text": "Different words."})
    # then the published wording stays as it was
    policy.refresh_from_db()
    assert policy.text == "Offers by SMS."
    assert admin_client_.post(reverse("admin:consent_policyversion_delete", args=[policy.pk])).status_code == 403


@pytest.mark.parametrize(
    ("role", "permission", "granted"),
    [
        ("marketing", "consent.view_purpose", True),
        ("marketing", "consent.view_channel", True),
        ("marketing", "consent.view_consentevent", False),
        ("marketing", "consent.change_purpose", False),
        ("crm", "consent.view_consentevent", True),
        ("crm", "consent.add_consentevent", True),
        ("crm", "consent.change_consentevent", False),
        ("sales", "consent.view_purpose", False),
        ("dpo", "consent.add_policyversion", True),
        ("dpo", "consent.change_purpose", True),
    ],
)
def test_consent_permissions_of_each_role(role_users, role, permission, granted):
    assert role_users[role].has_perm(permission) is granted


def test_events_are_linked_to_customers_only_through_the_ledger_fields():
    # the ledger keeps the source's subject id, so an event outlives its link when a customer is erased
    event = ConsentEventFactory(subject_external_id="C9")
    event.customer.delete()
    event.refresh_from_db()
    assert (event.customer_id, event.subject_external_id) == (None, "C9")
    assert ConsentEvent.objects.count() == 1


def test_one_service_writes_the_ledger():
    # nothing but consent.services.ledger builds ConsentEvent rows, bulk-inserts them or knows the ledger's columns
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    writes = re.compile(
        r"(?<!class )ConsentEvent\(|ConsentEvent\.objects\.(create|bulk_create|get_or_create)"
        r"|bulk_insert\(\s*ConsentEvent"
    )
    writers = sorted(
        str(path.relative_to(root))
        for app in ("cdp", "consent", "segments", "campaigns")
        for path in (root / app).rglob("*.py")
        if "migrations" not in path.parts and writes.search(path.read_text(encoding="utf-8"))
    )
    assert writers == ["consent/services/ledger.py"]


def test_one_event_key_recipe_for_every_writer():
    import datetime as dt

    from cdp.ingest.rows import RowContext, parse_consent
    from cdp.ingest.types import ImportOptions
    from consent.services.ledger import LEDGER_MAX_LENGTHS, ledger_event_key

    # given a consent row as a file gives it
    raw = {
        "customer_external_id": "C1",
        "purpose": "email_marketing",
        "channel": "email",
        "status": "granted",
        "timestamp": "2025-01-01T10:00:00Z",
        "source": "web",
        "policy_version": "2024-01",
        "evidence": "form 12",
    }
    context = RowContext(options=ImportOptions().resolved("consents"), columns=frozenset(raw))
    row = parse_consent(raw, context)
    # then its key is the ledger's recipe over its content, and the importer's limits are the ledger's columns
    instant = dt.datetime(2025, 1, 1, 10, tzinfo=dt.UTC).isoformat()
    content = ("C1", "email_marketing", "email", "granted", instant, "web", "2024-01", "form 12")
    assert row.event_key == ledger_event_key(*content)
    assert LEDGER_MAX_LENGTHS == {"customer_external_id": 128, "source": 50, "policy_version": 32}
