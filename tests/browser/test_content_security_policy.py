"""In a real browser, under the product's strict Content-Security-Policy: the pages that run scripts still work (the
API documentation's Swagger UI, the admin's date shortcuts), and the policy is what the browser enforces."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.cdp.factories import ReceiptLineFactory, SourceRecordFactory
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 15
# Every violation the page meets is kept by a listener the test installs before the page's own scripts run.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener(
  'securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI)
);
"""


def wait_for(browser, condition):
    return WebDriverWait(browser, WAIT_SECONDS).until(condition)


def test_swagger_ui_and_the_admin_scripts_run_under_the_policy(browser, live_server, role_users):
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.ID, "id_username").send_keys("dpo")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(browser, ec.presence_of_element_located((By.ID, "user-tools")))
    # the API documentation: Swagger UI loads its start-up script as a file and renders the schema's operations
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    browser.get(f"{live_server.url}/api/docs/")
    wait_for(browser, ec.presence_of_element_located((By.CSS_SELECTOR, ".swagger-ui .opblock")))
    assert browser.execute_script("return window.__violations") == []
    # the admin's ledger form: its scripts add the date shortcuts
    browser.get(f"{live_server.url}/admin/consent/consentevent/add/")
    wait_for(browser, ec.presence_of_element_located((By.CSS_SELECTOR, ".datetimeshortcuts")))
    assert browser.execute_script("return window.__violations") == []
    # a customer's profile (its server-drawn chart, its consents panel) and the requests' list
    customer = ReceiptLineFactory(receipt__customer=SourceRecordFactory().customer).receipt.customer
    browser.get(f"{live_server.url}/customers/{customer.pk}/")
    wait_for(browser, ec.presence_of_element_located((By.CSS_SELECTOR, ".preference-link")))
    browser.get(f"{live_server.url}/admin/consent/datasubjectrequest/")
    wait_for(browser, ec.presence_of_element_located((By.ID, "changelist")))
    assert browser.execute_script("return window.__violations") == []
    # and an inline script, which the product never writes, is refused by the browser
    browser.execute_script(
        "const s = document.createElement('script'); s.textContent = 'window.__ran = true'; document.body.append(s);"
    )
    assert browser.execute_script("return window.__ran === true") is False
    assert any(v.startswith("script-src") for v in browser.execute_script("return window.__violations"))
