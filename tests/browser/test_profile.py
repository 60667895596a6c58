"""In a real browser: a CRM user searches with a typo, opens the profile, and reads the key figures and the timeline."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from cdp.profile.search import customers_refresh_search_keys
from tests.cdp.factories import CustomerFactory
from tests.cdp.profile_data import add_interactions, add_receipts, known_customer
from tests.conftest import PASSWORD, make_role_user

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
    wait_for(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".who"), username))


def test_crm_user_finds_a_customer_despite_a_typo_and_reads_the_profile(browser, live_server):
    # given Jennifer Martin with three purchases and two e-mails opened, a near namesake, and a CRM user
    customer = known_customer()
    add_receipts(customer, 3)
    add_interactions(customer, 2)
    CustomerFactory(first_name="Anne", last_name="Martinez")
    customers_refresh_search_keys()
    make_role_user("crm")
    log_in(browser, live_server, "crm")
    # when they search "Jenifer Matrin" from the navigation bar
    browser.find_element(By.LINK_TEXT, "Customers").click()
    field = wait_for(browser, ec.element_to_be_clickable((By.ID, "id_q")))
    field.send_keys("Jenifer Matrin", Keys.ENTER)
    # then Jennifer Martin is the first result, and her profile opens from it
    first = wait_for(browser, ec.element_to_be_clickable((By.CSS_SELECTOR, "tr.result a")))
    assert first.text == "Jennifer Martin"
    first.click()
    wait_for(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, "h1.profile-name"), "Jennifer Martin"))
    assert browser.current_url.endswith(f"/customers/{customer.pk}/")
    # and the key figures and the timeline, newest first, are on the page
    assert browser.find_element(By.CSS_SELECTOR, "[data-figure=receipts] .value").text == "3"
    assert browser.find_element(By.CSS_SELECTOR, "[data-figure=revenue] .value").text == "€75.00"
    entries = browser.find_elements(By.CSS_SELECTOR, "#timeline .timeline-entry")
    kinds = [entry.get_attribute("data-kind") for entry in entries]
    assert kinds == ["receipt", "receipt", "interaction", "interaction", "receipt"]
    assert "Purchase" in entries[0].text
    assert "€25.00" in entries[0].text
    assert "Email open" in entries[2].text
    assert browser.find_elements(By.CSS_SELECTOR, "svg.spend-chart rect")
