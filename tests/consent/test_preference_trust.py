"""Staff never act as the customer: a preference link goes to the customer (e-mail to their address, or a letter staff
print), the page refuses a signed-in user, a link proves the identity only when it came through a channel the
customer controls (and the request says which), and a merged-away customer's link leads to the survivor."""

from __future__ import annotations

import secrets

import pytest

from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from cdp.identity.services import customer_merge
from consent.models import (
    ConsentEvent,
    ConsentStatus,
    DataSubjectRequest,
    LinkDelivery,
    PreferenceKey,
    Purpose,
    RequestStatus,
)
from consent.selectors import consent_allows
from consent.services.preferences import (
    IDENTITY_VERIFICATION,
    NO_EMAIL_ADDRESS,
    NO_POSTAL_ADDRESS,
    SALT,
    SOURCE_KEY,
    UNVERIFIED_REQUEST,
    preference_choices,
    preference_link_customer,
    preference_link_mint,
)
from consent.views import EMAIL_NOT_SENT, UNKNOWN_DELIVERY
from tests.cdp.factories import CustomerFactory, SourceRecordFactory
from tests.consent.factories import ConsentEventFactory

pytestmark = pytest.mark.django_db


def path_of(link: str) -> str:
    return link[link.index("/privacy/") :]


def token_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[-1]


def link_in(body: str) -> str:
    return next(word for word in body.split() if "/privacy/preferences/" in word)


def everything(customer) -> dict:
    """The page's form, every purpose ticked."""
    shown = [choice.key for choice in preference_choices(customer=customer)]
    return {"shown": ",".join(shown), **{f"purpose_{key}": "on" for key in shown}}


@pytest.fixture
def customer():
    return CustomerFactory(address="12 rue des Lilas", postcode="59000", city="Lille")


@pytest.fixture
def crm(client, role_users) -> Client:
    client.force_login(role_users["crm"])
    return client


def deliver(client: Client, customer, delivery: str):
    return client.post(reverse("consent:preference_link", args=[customer.pk]), {"delivery": delivery})


# ---------------------------------------------------------------------------------------------------------------------
# The page refuses staff


def test_a_signed_in_staff_member_can_neither_see_nor_use_the_customer_page(crm, customer):
    # given a valid link of the customer (as in the footer of an e-mail), opened in a staff session
    page = path_of(preference_link_mint(customer=customer))
    # when crm staff open it, post the consent form granting everything, and ask for erasure
    opened = crm.get(page)
    granted = crm.post(page, everything(customer))
    erasure = crm.post(f"{page}request/", {"kind": "erasure", "confirm": "yes"})
    # then each is refused, says why, and nothing is recorded in the customer's name
    for response in (opened, granted, erasure):
        assert response.status_code == 403
        assert "This page is the customer" in response.content.decode()
        assert 'name="purpose_' not in response.content.decode()
    assert not ConsentEvent.objects.exists()
    assert not DataSubjectRequest.objects.exists()


def test_the_staff_action_never_shows_a_link(crm, customer, mailoutbox):
    response = crm.post(reverse("consent:preference_link", args=[customer.pk]))
    assert response.status_code == 302
    assert escape(str(UNKNOWN_DELIVERY)) in crm.get(response["Location"]).content.decode()
    assert not PreferenceKey.objects.exists()
    assert not mailoutbox


# ---------------------------------------------------------------------------------------------------------------------
# Links go to the customer, and the request says which way


def test_a_link_emailed_to_the_customer_verifies_a_request_and_says_how(crm, customer, mailoutbox, role_users):
    # given crm staff e-mailed the customer their link
    assert deliver(crm, customer, "email").status_code == 302
    [message] = mailoutbox
    assert message.to == [customer.email]
    page = path_of(link_in(message.body))
    # when the customer (not signed in) asks for a copy of their data
    response = Client().post(f"{page}request/", {"kind": "access"})
    # then the request is verified by the link, and records that it was e-mailed to the customer at crm's request
    assert response.status_code == 302
    request = DataSubjectRequest.objects.get()
    assert request.status == RequestStatus.IN_PROGRESS
    assert request.identity_verification.startswith(IDENTITY_VERIFICATION)
    assert "e-mailed to the customer's address" in request.identity_verification
    assert "at the request of crm" in request.identity_verification


def test_a_letter_link_names_who_printed_it_in_the_ledger_and_the_request(crm, customer):
    # given crm staff printed a letter for the customer's postal address
    response = deliver(crm, customer, "post")
    assert response.status_code == 200
    body = response.content.decode()
    assert customer.address in body
    assert response["Cache-Control"] == "no-store"
    page = path_of(link_in(body.replace("<code>", " ").replace("</code>", " ")))
    key = PreferenceKey.objects.get(customer=customer)
    assert (key.delivered_via, key.issued_by.username) == (LinkDelivery.POST, "crm")
    # when the customer, at home, grants SMS marketing and asks for erasure
    customer_browser = Client()
    choices = {"shown": everything(customer)["shown"], "purpose_sms_marketing": "on", "purpose_analytics": "on"}
    assert customer_browser.post(page, choices).status_code == 302
    customer_browser.post(f"{page}request/", {"kind": "erasure", "confirm": "yes"})
    # then the ledger's evidence and the request say the link came in a letter printed by crm
    event = ConsentEvent.objects.get(source_key=SOURCE_KEY)
    assert "letter to the customer's postal address, printed by crm" in event.evidence
    request = DataSubjectRequest.objects.get()
    assert "printed by crm" in request.identity_verification


def test_a_link_of_unknown_delivery_changes_choices_but_proves_no_identity(customer):
    # given a link whose key predates the record of deliveries (it may have been shown to staff)
    legacy = PreferenceKey.objects.create(customer=customer, key=secrets.token_urlsafe(16))
    page = reverse("consent:preferences", args=[signing.TimestampSigner(salt=SALT).sign(legacy.key)])
    ConsentEventFactory(customer=customer, purpose_key="email_marketing", channel_key="email")
    # when its holder withdraws e-mail marketing and asks for erasure
    holder = Client()
    holder.post(page, {"shown": "email_marketing"})
    holder.post(f"{page}request/", {"kind": "erasure", "confirm": "yes"})
    # then the withdrawal is honoured, with the evidence saying so, but the request waits for the DPO's check
    assert not consent_allows(customer_id=customer.pk, purpose="email_marketing", channel="email").allowed
    assert "link of unknown delivery" in ConsentEvent.objects.get(source_key=SOURCE_KEY).evidence
    request = DataSubjectRequest.objects.get()
    assert (request.status, request.identity_verified_at, request.details) == (
        RequestStatus.RECEIVED,
        None,
        UNVERIFIED_REQUEST,
    )


def test_no_address_no_delivery(crm, mailoutbox):
    nowhere = CustomerFactory(email="", address="", postcode="", city="")
    for delivery, reason in (("email", NO_EMAIL_ADDRESS), ("post", NO_POSTAL_ADDRESS)):
        response = deliver(crm, nowhere, delivery)
        assert response.status_code == 302
        assert escape(str(reason)) in crm.get(response["Location"]).content.decode()
    assert not PreferenceKey.objects.exists()
    assert not mailoutbox


def test_a_mail_server_that_refuses_leaves_no_link_behind(crm, customer, settings):
    # a real SMTP client, to a port where nothing listens
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    response = deliver(crm, customer, "email")
    assert response.status_code == 302
    assert escape(str(EMAIL_NOT_SENT)) in crm.get(response["Location"]).content.decode()
    assert not PreferenceKey.objects.exists()


@pytest.mark.parametrize("role", ["marketing", "sales"])
def test_roles_without_the_right_cannot_deliver_links(client, role_users, customer, role):
    client.force_login(role_users[role])
    assert deliver(client, customer, "email").status_code == 403
    assert not PreferenceKey.objects.exists()


# ---------------------------------------------------------------------------------------------------------------------
# Merged-away customers


@pytest.fixture
def merged(role_users):
    """A survivor who granted every marketing purpose, and a duplicate merged into it."""
    survivor = SourceRecordFactory(customer__email="jeanne.survivor@example.org").customer
    duplicate = SourceRecordFactory(customer__email="jeanne.duplicate@example.org").customer
    for purpose, channel in (("email_marketing", "email"), ("sms_marketing", "sms"), ("profiling", None)):
        ConsentEventFactory(customer=survivor, purpose_key=purpose, channel_key=channel)
    customer_merge(survivor=survivor, duplicate=duplicate, actor=role_users["dpo"], reason="same person")
    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    assert survivor.email
    return survivor, duplicate


def test_a_link_asked_for_a_merged_customer_goes_to_the_survivor(crm, merged, mailoutbox):
    survivor, duplicate = merged
    assert deliver(crm, duplicate, "email").status_code == 302
    [message] = mailoutbox
    assert message.to == [survivor.email]
    assert preference_link_customer(token=token_of(link_in(message.body))) == survivor
    assert not PreferenceKey.objects.filter(customer=duplicate).exists()


def test_a_key_left_on_a_merged_record_leads_to_the_survivor_and_a_withdrawal_is_honoured(merged):
    survivor, duplicate = merged
    # given a key that points at the merged-away record (as links minted for it after the merge did)
    stale = PreferenceKey.objects.create(customer=duplicate, key=secrets.token_urlsafe(16))
    page = reverse("consent:preferences", args=[signing.TimestampSigner(salt=SALT).sign(stale.key)])
    # when its holder opens the page, it shows the survivor's grants
    body = Client().get(page).content.decode()
    assert body.split('data-purpose="email_marketing"')[1].split("</tr>")[0].count("checked") == 1
    # and withdrawing everything there withdraws the survivor's grants
    Client().post(page, {"shown": everything(survivor)["shown"]})
    for purpose, channel in (("email_marketing", "email"), ("sms_marketing", "sms"), ("profiling", None)):
        assert not consent_allows(customer_id=survivor.pk, purpose=purpose, channel=channel).allowed
    assert set(ConsentEvent.objects.filter(source_key=SOURCE_KEY).values_list("customer", flat=True)) == {survivor.pk}
    assert set(ConsentEvent.objects.filter(source_key=SOURCE_KEY).values_list("status", flat=True)) == {
        ConsentStatus.WITHDRAWN
    }


def test_footer_links_minted_for_a_merged_customer_are_the_survivors(merged):
    survivor, duplicate = merged
    assert preference_link_customer(token=token_of(preference_link_mint(customer=duplicate))) == survivor
    assert not PreferenceKey.objects.filter(customer=duplicate).exists()


def test_staff_record_what_a_customer_told_them_in_the_ledger_in_their_own_name(crm, customer, role_users):
    # the profile leads to the ledger's form, the customer filled in
    profile = crm.get(reverse("customers:profile", args=[customer.pk])).content.decode()
    add = f"{reverse('admin:consent_consentevent_add')}?customer={customer.pk}"
    assert escape(add) in profile
    assert f'value="{customer.pk}"' in crm.get(add).content.decode()
    response = crm.post(
        add,
        {
            "customer": customer.pk,
            "purpose": Purpose.objects.get(key="sms_marketing").pk,
            "status": "granted",
            "occurred_at_0": "2026-01-05",
            "occurred_at_1": "10:00:00",
            "captured_via": "call_centre",
            "evidence": "call 2026-01-05 10:00, ticket 4521",
        },
    )
    assert response.status_code == 302
    event = ConsentEvent.objects.get()
    assert (event.recorded_by, event.source_key, event.evidence) == (
        role_users["crm"],
        "staff",
        "call 2026-01-05 10:00, ticket 4521",
    )


def test_without_a_base_url_the_emailed_link_is_built_on_the_address_the_page_was_asked_on(client, role_users):
    # given the development default: no public address configured
    from django.conf import settings as live_settings

    assert live_settings.PREFERENCE_LINK_BASE_URL == ""
    customer = CustomerFactory(email="claire@example.org")
    client.force_login(role_users["crm"])
    # when staff e-mail the link from the site served on another port than 8000
    response = client.post(
        reverse("consent:preference_link", args=[customer.pk]), {"delivery": "email"}, HTTP_HOST="127.0.0.1:8123"
    )
    # then the link in the e-mail leads to that address
    from django.core import mail

    assert response.status_code == 302
    assert link_in(mail.outbox[0].body).startswith("http://127.0.0.1:8123/privacy/preferences/")
