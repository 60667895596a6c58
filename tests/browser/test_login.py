"""In a real browser: each role logs in and sees the home page; a wrong password is refused."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.cdp.factories import ReceiptLineFactory
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(browser, live_server, username: str, password: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/")
    assert "/accounts/login/" in browser.current_url
    browser.find_element(By.ID, "id_username").send_keys(username)
    browser.find_element(By.ID, "id_password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


@pytest.mark.parametrize("role", ["crm", "marketing", "sales", "dpo"])
def test_each_role_logs_in_and_sees_the_counts(browser, live_server, role_users, role):
    ReceiptLineFactory.create_batch(2)
    log_in(browser, live_server, role, PASSWORD)
    assert browser.find_element(By.CSS_SELECTOR, ".who").text == role  # waits for the page after login
    assert browser.current_url == f"{live_server.url}/"
    if role == "sales":
        # sales read no customer figure: their home says where their briefs will be
        assert "No campaign has been launched yet" in browser.find_element(By.ID, "briefs").text
        assert not browser.find_elements(By.CSS_SELECTOR, "[data-figure]")
    else:
        receipts = browser.find_element(By.CSS_SELECTOR, "[data-figure=receipts] .value").text
        assert receipts == "2"
    admin_links = browser.find_elements(By.LINK_TEXT, "Admin")
    assert bool(admin_links) is (role != "sales")


def test_a_wrong_password_stays_on_the_login_page(browser, live_server, role_users):
    log_in(browser, live_server, "crm", "not-the-password")
    assert "didn't match" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert "/accounts/login/" in browser.current_url
