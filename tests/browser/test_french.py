"""In a real browser: a user picks French in the top bar and reads the profile in French, with French dates and
amounts that never wrap, and the consent table in words."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from cdp.models import Customer
from consent.models import Channel, Purpose
from tests.browser.test_profile import log_in, wait_for
from tests.cdp.profile_data import add_receipts, known_customer
from tests.conftest import make_role_user
from tests.consent.factories import ConsentEventFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_user_reads_the_profile_in_french(browser, live_server):
    # given a customer with purchases, a birth date and a consent, and a CRM user
    customer = known_customer()
    add_receipts(customer, 3)
    Customer.objects.filter(pk=customer.pk).update(birth_date=dt.date(1984, 3, 7))
    ConsentEventFactory(
        customer=customer,
        purpose=Purpose.objects.get(key="email_marketing"),
        channel=Channel.objects.get(key="email"),
    )
    make_role_user("crm")
    log_in(browser, live_server, "crm")
    # when they pick French in the top bar and open the profile
    Select(browser.find_element(By.ID, "language-choice")).select_by_value("fr")
    browser.find_element(By.CSS_SELECTOR, "form.language button").click()
    wait_for(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, "h1"), "Bienvenue"))
    browser.get(f"{live_server.url}/customers/{customer.pk}/")
    # then the page is in French
    assert browser.find_element(By.CSS_SELECTOR, "html").get_attribute("lang") == "fr"
    assert "Chiffres clés" in browser.find_element(By.CSS_SELECTOR, "section.figures").get_attribute("aria-label")
    assert browser.find_element(By.CSS_SELECTOR, "#timeline h2").text == "Chronologie"
    # and amounts are written the French way, with spaces that never break
    revenue = browser.find_element(By.CSS_SELECTOR, "[data-figure=revenue] .value").get_attribute("textContent")
    assert revenue.strip() == "75,00\xa0€"
    # and every date and time in one format, the birth date too
    times = [item.text for item in browser.find_elements(By.CSS_SELECTOR, "#timeline time")]
    assert times
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", text) for text in times), times
    assert browser.find_element(By.CSS_SELECTOR, "tr[data-field=birth_date] td").text == "07/03/1984"
    # and the consent table names the purpose and the channel in French
    consents = browser.find_element(By.CSS_SELECTOR, "table.consents").text
    assert "Marketing par e-mail" in consents
    assert "email_marketing" not in consents
