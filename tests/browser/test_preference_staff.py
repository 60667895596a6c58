"""In a real browser: CRM staff e-mail a customer their preference link from the profile and never see it; the link
opened in the staff's session shows nothing and changes nothing; the customer, not signed in, uses it, and the ledger
says how the link reached them."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from consent.models import ConsentEvent, ConsentStatus, DataSubjectRequest
from consent.selectors import consent_allows
from consent.services.preferences import SOURCE_KEY
from tests.cdp.factories import SourceRecordFactory
from tests.conftest import PASSWORD
from tests.consent.factories import ConsentEventFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 10


def wait_for(browser, condition):
    return WebDriverWait(browser, WAIT_SECONDS).until(condition)


def log_in(browser, live_server, username: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/accounts/login/")
    browser.find_element(By.ID, "id_username").send_keys(username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, ec.presence_of_element_located((By.CSS_SELECTOR, ".who")))


def test_staff_email_the_link_and_only_the_customer_can_use_it(browser, live_server, role_users, mailoutbox, settings):
    settings.PREFERENCE_LINK_BASE_URL = live_server.url  # the site's public address
    # given a customer who consented to e-mail marketing, and crm staff on the customer's profile
    customer = SourceRecordFactory(customer__email="lea.martin@example.org").customer
    ConsentEventFactory(customer=customer, purpose_key="email_marketing", channel_key="email")
    log_in(browser, live_server, "crm")
    browser.get(f"{live_server.url}/customers/{customer.pk}/")
    # when they e-mail the customer the link
    browser.find_element(By.ID, "send-link-email").click()
    confirmation = wait_for(browser, ec.presence_of_element_located((By.CSS_SELECTOR, ".message.success")))
    # then the page confirms it went to the customer, and holds no link
    assert "e-mailed to the customer's address" in confirmation.text
    assert "/privacy/preferences/" not in browser.page_source
    [message] = mailoutbox
    assert message.to == ["lea.martin@example.org"]
    link = next(word for word in message.body.split() if "/privacy/preferences/" in word)
    # when staff open the link in their own session anyway
    browser.get(link)
    heading = wait_for(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "#staff-refused h1")))
    # then the page is refused: no choice, no request form
    assert heading.text == "This page is the customer's"
    assert not browser.find_elements(By.CSS_SELECTOR, "input[type=checkbox]")
    assert not browser.find_elements(By.ID, "ask-erasure")
    # and nothing was recorded in the customer's name
    assert not ConsentEvent.objects.filter(source_key=SOURCE_KEY).exists()
    assert not DataSubjectRequest.objects.exists()
    # when the customer opens the link from their e-mail (not signed in) and withdraws e-mail marketing
    browser.delete_all_cookies()
    browser.get(link)
    box = wait_for(browser, ec.element_to_be_clickable((By.ID, "id_purpose_email_marketing")))
    assert box.is_selected()
    box.click()
    browser.find_element(By.ID, "save").click()
    wait_for(browser, ec.presence_of_element_located((By.ID, "done")))
    # then the withdrawal is theirs, and the evidence says how the link reached them
    event = ConsentEvent.objects.get(source_key=SOURCE_KEY)
    assert (event.customer_id, event.status) == (customer.pk, ConsentStatus.WITHDRAWN)
    assert "link e-mailed to the customer's address" in event.evidence
    assert "at the request of crm" in event.evidence
    assert not consent_allows(customer_id=customer.pk, purpose="email_marketing", channel="email").allowed
