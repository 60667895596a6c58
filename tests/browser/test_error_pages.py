"""In a real browser, DEBUG on as `make run` has it: an unknown page is the product's own 404, and the home page names
each of its links for what it opens."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.browser.test_profile import log_in
from tests.conftest import make_role_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_unknown_page_is_the_products_404_with_debug_on(browser, live_server, settings):
    # given the development server's DEBUG, and a signed-in CRM user
    settings.DEBUG = True
    make_role_user("crm")
    log_in(browser, live_server, "crm")
    # when they open a page that does not exist
    browser.get(f"{live_server.url}/customers/not-a-customer/")
    # then the product's page answers, with its navigation, and no list of the site's URLs
    assert browser.find_element(By.TAG_NAME, "h1").text == "404"
    assert "This page does not exist." in browser.find_element(By.TAG_NAME, "main").text
    assert "URLconf" not in browser.page_source
    assert browser.find_element(By.CSS_SELECTOR, ".who").text == "crm"


def test_the_home_page_names_each_link_for_what_it_opens(browser, live_server):
    # given a DPO, who sees the most links
    make_role_user("dpo")
    log_in(browser, live_server, "dpo")
    # when the home page is read
    browser.get(f"{live_server.url}/")
    # then no two links with the same words lead to different pages
    targets: dict[str, set[str]] = {}
    for link in browser.find_elements(By.CSS_SELECTOR, "a[href]"):
        targets.setdefault(link.text.strip(), set()).add(link.get_attribute("href"))
    assert all(len(hrefs) == 1 for text, hrefs in targets.items() if text), targets
