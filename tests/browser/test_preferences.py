"""In a real browser: a customer opens the link of an e-mail's footer, withdraws a consent, and sees it withdrawn."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from consent.models import ConsentEvent, ConsentStatus
from consent.selectors import consent_allows
from consent.services.preferences import SOURCE_KEY, preference_link_mint
from tests.cdp.factories import CustomerFactory
from tests.consent.factories import ConsentEventFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 10


def wait_for(browser, condition):
    return WebDriverWait(browser, WAIT_SECONDS).until(condition)


def test_a_customer_withdraws_a_consent_from_the_link_of_an_email(browser, live_server):
    # given a customer who consented to e-mail marketing and to SMS marketing, and the link of their e-mails
    customer = CustomerFactory()
    ConsentEventFactory(customer=customer, purpose_key="email_marketing", channel_key="email")
    ConsentEventFactory(customer=customer, purpose_key="sms_marketing", channel_key="sms")
    link = preference_link_mint(customer=customer, base_url=live_server.url)
    browser.delete_all_cookies()  # not logged in
    # when they open it, untick e-mail marketing and save
    browser.get(link)
    box = wait_for(browser, ec.element_to_be_clickable((By.ID, "id_purpose_email_marketing")))
    assert box.is_selected()
    assert browser.find_element(By.ID, "id_purpose_sms_marketing").is_selected()
    assert not browser.find_elements(By.CSS_SELECTOR, "nav.nav")  # no staff navigation
    box.click()
    browser.find_element(By.ID, "save").click()
    # then the page says so and shows e-mail marketing withdrawn, SMS marketing still granted
    wait_for(browser, ec.presence_of_element_located((By.ID, "done")))
    row = browser.find_element(By.CSS_SELECTOR, 'tr[data-purpose="email_marketing"]')
    assert "refused" in row.get_attribute("class")
    assert not browser.find_element(By.ID, "id_purpose_email_marketing").is_selected()
    assert browser.find_element(By.ID, "id_purpose_sms_marketing").is_selected()
    # and the ledger holds the withdrawal, with the browser as evidence
    event = ConsentEvent.objects.get(source_key=SOURCE_KEY)
    assert (event.purpose.key, event.status) == ("email_marketing", ConsentStatus.WITHDRAWN)
    assert "Chrome" in event.evidence
    assert not consent_allows(customer_id=customer.pk, purpose="email_marketing", channel="email").allowed
    assert consent_allows(customer_id=customer.pk, purpose="sms_marketing", channel="sms").allowed


def test_a_tampered_link_shows_nothing(browser, live_server):
    customer = CustomerFactory(last_name="Tamperproof")
    link = preference_link_mint(customer=customer, base_url=live_server.url)
    browser.delete_all_cookies()
    browser.get(link[:-2] + "xx/")
    heading = wait_for(browser, ec.presence_of_element_located((By.TAG_NAME, "h1")))
    assert heading.text == "This link is not valid"
    assert not browser.find_elements(By.CSS_SELECTOR, "input[type=checkbox]")
    assert "Tamperproof" not in browser.page_source
