"""The customer's preference page: signed expiring links, choices recorded in the ledger, requests from the page."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from cdp.identity.services import customer_merge
from consent.models import (
    ConsentEvent,
    ConsentStatus,
    DataSubjectRequest,
    LinkDelivery,
    PreferenceKey,
    Purpose,
    RequestChannel,
    RequestKind,
    RequestStatus,
)
from consent.selectors import consent_allows
from consent.services.erasure import subject_erase
from consent.services.policies import policy_version_publish
from consent.services.preferences import (
    CAPTURED_VIA,
    IDENTITY_VERIFICATION,
    SALT,
    SOURCE_KEY,
    InvalidPreferenceLink,
    preference_choices,
    preference_link_customer,
    preference_link_mint,
    preference_links_mint,
    preferences_update,
)
from consent.views import CONFIRM_ERASURE, DONE_MESSAGES, LINK_EMAILED
from tests.cdp.factories import CustomerFactory
from tests.consent.factories import ConsentEventFactory

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0"


def token_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[-1]


def row_of(body: str, purpose: str) -> str:
    """The table row of a purpose on the page."""
    return body.split(f'data-purpose="{purpose}"')[1].split("</tr>")[0]


def path_of(link: str) -> str:
    return link[link.index("/privacy/") :]


class OldSigner(signing.TimestampSigner):
    """Signs as the real signer did `days` ago: a link minted then."""

    def __init__(self, *args, days: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.days = days

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - self.days * 86400)


# ---------------------------------------------------------------------------------------------------------------------
# Links


def test_a_link_leads_to_its_customer_and_carries_no_personal_data():
    # given a customer
    customer = CustomerFactory(first_name="Jeanne", last_name="Dupont", email="jeanne.dupont@example.org")
    # when a link is minted
    link = preference_link_mint(customer=customer, base_url="https://shop.example")
    # then it is absolute, leads to the customer, and holds neither the customer's id nor any identifier
    assert link.startswith("https://shop.example/privacy/preferences/")
    assert preference_link_customer(token=token_of(link)) == customer
    for value in (str(customer.pk), customer.pk.hex, "jeanne", "dupont", "example.org"):
        assert value not in link.lower()


def test_links_of_one_send_are_minted_together_and_reuse_each_customer_key(django_assert_max_num_queries):
    customers = CustomerFactory.create_batch(5)
    ids = [customer.pk for customer in customers]
    with django_assert_max_num_queries(3):  # merged customers among them, existing keys, one insert of the missing
        links = preference_links_mint(customer_ids=ids)
    assert set(links) == set(ids)
    assert PreferenceKey.objects.count() == 5
    again = preference_links_mint(customer_ids=ids)
    assert PreferenceKey.objects.count() == 5  # a customer keeps one key
    assert all(preference_link_customer(token=token_of(again[pk])).pk == pk for pk in ids)


def test_an_expired_link_is_refused(settings):
    settings.PREFERENCE_LINK_MAX_AGE_DAYS = 30
    customer = CustomerFactory()
    key = token_of(preference_link_mint(customer=customer)).split(":")[0]
    # a link minted 31 days ago is refused; one minted 29 days ago is accepted
    old = OldSigner(salt=SALT, days=31).sign(key)
    recent = OldSigner(salt=SALT, days=29).sign(key)
    with pytest.raises(InvalidPreferenceLink):
        preference_link_customer(token=old)
    assert preference_link_customer(token=recent) == customer


def test_a_tampered_or_forged_link_is_refused():
    mine, other = CustomerFactory(), CustomerFactory()
    token = token_of(preference_link_mint(customer=mine))
    other_key = token_of(preference_link_mint(customer=other)).split(":")[0]
    key, stamp, signature = token.split(":")
    for bad in (
        f"{other_key}:{stamp}:{signature}",  # another customer's key under my signature
        f"{key}:{stamp}:{signature[:-1]}x",  # signature altered
        signing.TimestampSigner(key="not-the-secret-key-of-this-site-at-all", salt=SALT).sign(key),  # forged
        signing.TimestampSigner(salt="another.purpose").sign(key),  # signed for something else
        key,  # no signature
        "",
    ):
        with pytest.raises(InvalidPreferenceLink):
            preference_link_customer(token=bad)


def test_a_link_stops_working_once_its_key_is_erased():
    customer = CustomerFactory()
    token = token_of(preference_link_mint(customer=customer))
    PreferenceKey.objects.filter(customer=customer).delete()
    with pytest.raises(InvalidPreferenceLink):
        preference_link_customer(token=token)


# ---------------------------------------------------------------------------------------------------------------------
# The page


@pytest.fixture
def customer():
    # names the page's own words cannot contain by chance (a drawn "Li" is in "Link not valid")
    return CustomerFactory(first_name="Philibert", last_name="Quennevilliers")


@pytest.fixture
def page(customer):
    return path_of(preference_link_mint(customer=customer))


def test_the_page_opens_without_login_and_shows_the_customer_choices(client, customer, page):
    # given a customer who granted e-mail marketing and never answered about SMS
    ConsentEventFactory(customer=customer, purpose_key="email_marketing", channel_key="email")
    # when they open their link, not logged in
    response = client.get(page)
    # then their choices are shown, with no staff navigation
    assert response.status_code == 200
    body = response.content.decode()
    assert "checked" in row_of(body, "email_marketing")
    assert "checked" not in row_of(body, "sms_marketing")
    assert "/admin/" not in body
    assert "Log out" not in body
    assert response["Cache-Control"].startswith("max-age=0")
    assert response["Referrer-Policy"] == "same-origin"
    assert "csrfmiddlewaretoken" in body


def test_the_page_speaks_to_the_customer_not_to_staff(client, customer, page):
    # given the seeded purposes: a staff description citing the law, and the customers' own wording
    purpose = Purpose.objects.get(key="email_marketing")
    assert "L34-5" in purpose.description
    assert purpose.customer_wording
    # when the customer opens their page
    body = client.get(page).content.decode()
    # then they read the customers' wording, never the staff description
    assert purpose.customer_wording in row_of(body, "email_marketing")
    assert "L34-5" not in body
    assert "GDPR Art." not in body


def test_an_invalid_link_gets_a_plain_not_found_page_that_reveals_nothing(client, customer, page):
    for bad in (page.replace(":", ":x", 1), "/privacy/preferences/anything/"):
        response = client.get(bad)
        assert response.status_code == 404
        body = response.content.decode()
        assert "This link is not valid" in body
        assert "purpose_" not in body
        assert str(customer.pk) not in body
        assert customer.last_name not in body
        assert customer.first_name not in body
    # nor can one post to it
    assert client.post(page.replace(":", ":x", 1), {"shown": "email_marketing"}).status_code == 404
    assert not ConsentEvent.objects.exists()


def test_withdrawing_on_the_page_is_a_ledger_event_with_its_evidence(client, customer, page):
    # given a customer who consented to e-mail marketing, and the published wording of the purpose
    ConsentEventFactory(customer=customer, purpose_key="email_marketing", channel_key="email")
    policy = policy_version_publish(
        purpose=Purpose.objects.get(key="email_marketing"),
        version="2026-01",
        text="We send offers by e-mail.",
        published_at=timezone.now() - dt.timedelta(days=1),
    )
    shown = ",".join(choice.key for choice in preference_choices(customer=customer))
    # when they untick it and save (nothing else ticked)
    response = client.post(
        page, {"shown": shown, "purpose_analytics": "on"}, HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="203.0.113.7"
    )
    # then one withdrawal is in the ledger, purpose-wide, with the wording shown and the evidence
    assert response.status_code == 302
    assert response["Location"].endswith("?done=saved")
    event = ConsentEvent.objects.get(source_key=SOURCE_KEY)
    assert (event.customer, event.purpose.key, event.channel, event.status) == (
        customer,
        "email_marketing",
        None,
        ConsentStatus.WITHDRAWN,
    )
    assert event.captured_via == CAPTURED_VIA
    assert (event.policy, event.policy_version) == (policy, "2026-01")
    assert "203.0.113.7" in event.evidence
    assert BROWSER in event.evidence
    # and the withdrawal is in force for every channel of the purpose
    assert not consent_allows(customer_id=customer.pk, purpose="email_marketing", channel="email").allowed
    assert client.get(response["Location"]).content.decode().count(str(DONE_MESSAGES["saved"])) == 1


def test_granting_is_as_easy_as_withdrawing(client, customer, page):
    # given a customer who never consented to SMS
    shown = ",".join(choice.key for choice in preference_choices(customer=customer))
    # when they tick it, in the same single step (analytics stays allowed)
    client.post(page, {"shown": shown, "purpose_sms_marketing": "on", "purpose_analytics": "on"})
    # then they consented
    assert consent_allows(customer_id=customer.pk, purpose="sms_marketing", channel="sms").allowed
    assert ConsentEvent.objects.filter(source_key=SOURCE_KEY).count() == 1


def test_unticking_a_legitimate_interest_purpose_is_an_objection(client, customer, page):
    shown = ",".join(choice.key for choice in preference_choices(customer=customer))
    assert consent_allows(customer_id=customer.pk, purpose="analytics", channel=None).allowed
    client.post(page, {"shown": shown})
    assert not consent_allows(customer_id=customer.pk, purpose="analytics", channel=None).allowed
    assert ConsentEvent.objects.get(source_key=SOURCE_KEY).purpose.key == "analytics"


def test_saving_the_same_choices_writes_nothing(client, customer, page):
    ConsentEventFactory(customer=customer, purpose_key="email_marketing", channel_key="email")
    shown = ",".join(choice.key for choice in preference_choices(customer=customer))
    response = client.post(page, {"shown": shown, "purpose_email_marketing": "on", "purpose_analytics": "on"})
    assert response["Location"].endswith("?done=unchanged")
    assert ConsentEvent.objects.count() == 1


def test_a_purpose_not_shown_when_the_page_was_opened_is_left_alone(client, customer, page):
    # given the page showed only e-mail marketing (a purpose was added since, e.g. analytics)
    client.post(page, {"shown": "email_marketing"})
    # then analytics, allowed on legitimate interest, was not objected to for want of a tick
    assert not ConsentEvent.objects.exists()


def test_the_page_only_changes_the_customer_of_the_link(client, customer, page):
    other = CustomerFactory()
    ConsentEventFactory(customer=other, purpose_key="email_marketing", channel_key="email")
    shown = ",".join(choice.key for choice in preference_choices(customer=customer))
    client.post(page, {"shown": shown, "purpose_email_marketing": "on", "purpose_analytics": "on"})
    assert set(ConsentEvent.objects.filter(source_key=SOURCE_KEY).values_list("customer", flat=True)) == {customer.pk}
    assert consent_allows(customer_id=other.pk, purpose="email_marketing", channel="email").allowed


def test_the_service_writes_one_event_per_changed_purpose():
    customer = CustomerFactory()
    events = preferences_update(
        customer=customer,
        choices={"email_marketing": True, "sms_marketing": False, "analytics": False, "unknown": True},
        ip_address="198.51.100.1",
        user_agent=BROWSER,
    )
    # SMS was not consented to: unticking it changes nothing; an unknown key is ignored
    assert sorted((e.purpose.key, e.status) for e in events) == [
        ("analytics", ConsentStatus.WITHDRAWN),
        ("email_marketing", ConsentStatus.GRANTED),
    ]


# ---------------------------------------------------------------------------------------------------------------------
# Requests from the page


def test_asking_for_a_copy_creates_a_verified_request(client, customer, page):
    response = client.post(f"{page}request/", {"kind": "access"})
    assert response["Location"].endswith("?done=access")
    request = DataSubjectRequest.objects.get()
    assert (request.kind, request.received_via, request.customer) == (
        RequestKind.ACCESS,
        RequestChannel.PREFERENCE_PAGE,
        customer,
    )
    # the link of an e-mail's footer went to the customer's own address: it proves the identity, as the request says
    assert request.identity_verification.startswith(f"{IDENTITY_VERIFICATION}: link e-mailed to the customer's address")
    assert request.status == RequestStatus.IN_PROGRESS
    # asking again while it is open does not open a second one
    assert client.post(f"{page}request/", {"kind": "access"})["Location"].endswith("?done=already")
    assert DataSubjectRequest.objects.count() == 1


def test_asking_for_erasure_needs_a_confirmation(client, customer, page):
    response = client.post(f"{page}request/", {"kind": "erasure"})
    assert response.status_code == 400
    assert str(CONFIRM_ERASURE) in response.content.decode()
    assert not DataSubjectRequest.objects.exists()
    response = client.post(f"{page}request/", {"kind": "erasure", "confirm": "yes"})
    assert response["Location"].endswith("?done=erasure")
    assert DataSubjectRequest.objects.get().kind == RequestKind.ERASURE


def test_the_page_cannot_ask_for_other_kinds_of_request(client, customer, page):
    assert client.post(f"{page}request/", {"kind": "rectification"}).status_code == 200
    assert not DataSubjectRequest.objects.exists()


def test_forms_are_protected_against_cross_site_requests(customer, page):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(page, {"shown": "analytics"}).status_code == 403
    assert strict.post(f"{page}request/", {"kind": "access"}).status_code == 403
    assert not ConsentEvent.objects.exists()


# ---------------------------------------------------------------------------------------------------------------------
# Staff


def test_crm_staff_email_the_link_to_the_customer_and_never_see_it(client, role_users, customer, mailoutbox):
    client.force_login(role_users["crm"])
    profile = client.get(reverse("customers:profile", args=[customer.pk])).content.decode()
    url = reverse("consent:preference_link", args=[customer.pk])
    assert url in profile
    response = client.post(url, {"delivery": "email"}, follow=True)
    assert response.status_code == 200
    assert escape(str(LINK_EMAILED)) in response.content.decode()
    # the link went to the customer's address, and the staff's page holds no token
    [message] = mailoutbox
    assert message.to == [customer.email]
    link = next(word for word in message.body.split() if "/privacy/preferences/" in word)
    assert preference_link_customer(token=token_of(link)) == customer
    assert token_of(link) not in response.content.decode()
    key = PreferenceKey.objects.get(customer=customer)
    assert (key.delivered_via, key.issued_by) == (LinkDelivery.EMAIL, role_users["crm"])


def test_marketing_staff_cannot_get_a_link(client, role_users, customer):
    client.force_login(role_users["marketing"])
    assert client.post(reverse("consent:preference_link", args=[customer.pk])).status_code == 403
    assert not PreferenceKey.objects.exists()


def test_the_staff_link_needs_a_login(client, customer):
    response = client.post(reverse("consent:preference_link", args=[customer.pk]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_page_reads_a_fixed_number_of_queries(client, customer, page, django_assert_num_queries):
    for key in ("email_marketing", "sms_marketing", "profiling"):
        ConsentEventFactory(customer=customer, purpose_key=key, channel_key=None)
    # the key with its customer and issuer, the purposes, their wording, the customer's consents
    with django_assert_num_queries(4):
        assert client.get(page).status_code == 200


# ---------------------------------------------------------------------------------------------------------------------
# Merge and erasure


def test_after_a_merge_both_links_lead_to_the_surviving_customer(role_users):
    survivor, duplicate = CustomerFactory(), CustomerFactory()
    survivor_link = preference_link_mint(customer=survivor)
    duplicate_link = preference_link_mint(customer=duplicate)
    customer_merge(survivor=survivor, duplicate=duplicate, actor=role_users["crm"], reason="same person")
    assert preference_link_customer(token=token_of(duplicate_link)) == survivor
    assert preference_link_customer(token=token_of(survivor_link)) == survivor
    # and minting again gives the survivor one stable link key
    assert token_of(preference_link_mint(customer=survivor)).split(":")[0] == token_of(survivor_link).split(":")[0]


def test_an_erased_customer_link_leads_nowhere():
    customer = CustomerFactory()
    link = preference_link_mint(customer=customer)
    subject_erase(customer=customer, reason="the customer asked")
    assert not PreferenceKey.objects.exists()
    with pytest.raises(InvalidPreferenceLink):
        preference_link_customer(token=token_of(link))
