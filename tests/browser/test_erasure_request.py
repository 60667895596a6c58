"""In a real browser: the DPO walks an erasure request in the admin, from its creation to the erasure receipt."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from cdp.models import Customer, Receipt
from consent.models import DataSubjectRequest, ErasureReceipt, RequestStatus
from tests.cdp.factories import ReceiptLineFactory, SourceRecordFactory
from tests.conftest import PASSWORD, make_role_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 10


def wait_for(browser, condition):
    return WebDriverWait(browser, WAIT_SECONDS).until(condition)


def log_in(browser, live_server, username: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.ID, "id_username").send_keys(username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(browser, ec.presence_of_element_located((By.ID, "user-tools")))


def choose_customer(browser, typed: str, shown: str) -> None:
    """The customer field's autocomplete: type part of a name, pick the customer among the matches."""
    browser.find_element(By.CSS_SELECTOR, ".field-customer .select2-selection, .form-row .select2-selection").click()
    wait_for(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "input.select2-search__field"))).send_keys(typed)
    option = (By.XPATH, f"//li[contains(@class, 'select2-results__option') and normalize-space()='{shown}']")
    wait_for(browser, ec.element_to_be_clickable(option)).click()


def do_step(browser, name: str, text: str | None = None, confirm: bool = False) -> None:
    browser.find_element(By.ID, f"dsr-step-{name}").click()
    wait_for(browser, ec.presence_of_element_located((By.ID, "dsr-step-form")))
    if text is not None:
        browser.find_element(By.ID, "id_text").send_keys(text)
    if confirm:
        browser.find_element(By.ID, "id_confirm").click()
    browser.find_element(By.ID, "dsr-step-submit").click()
    wait_for(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "ul.messagelist li.success")))


def test_dpo_walks_an_erasure_request_from_creation_to_receipt(browser, live_server):
    # given a customer with a purchase, and the DPO
    record = SourceRecordFactory(external_id="CRM-900")
    line = ReceiptLineFactory(receipt__customer=record.customer)
    customer_id = record.customer_id
    make_role_user("dpo")
    log_in(browser, live_server, "dpo")
    # when the DPO records the request received by e-mail
    browser.get(f"{live_server.url}/admin/consent/datasubjectrequest/add/")
    Select(browser.find_element(By.ID, "id_kind")).select_by_value("erasure")
    Select(browser.find_element(By.ID, "id_received_via")).select_by_value("email")
    choose_customer(browser, record.customer.last_name, str(record.customer))
    browser.find_element(By.ID, "id_subject_reference").send_keys("e-mail of the customer, ticket 5531")
    browser.find_element(By.NAME, "_save").click()
    wait_for(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "ul.messagelist li.success")))
    request = DataSubjectRequest.objects.get()
    browser.get(f"{live_server.url}/admin/consent/datasubjectrequest/{request.pk}/change/")
    # then erasure is not offered before the identity is verified
    assert not browser.find_elements(By.ID, "dsr-step-erase")
    # when the DPO verifies the identity, erases (confirming) and completes the request
    do_step(browser, "verify", "reply from the e-mail address on file")
    do_step(browser, "erase", "Art. 17(1)(b): consent withdrawn, no other ground", confirm=True)
    message = browser.find_element(By.CSS_SELECTOR, "ul.messagelist li.success").text
    receipt = ErasureReceipt.objects.get()
    assert str(receipt.reference) in message
    do_step(browser, "complete", "erased; receipt sent to the subject")
    # then the request is completed, its trail shows every step, and the receipt says what was kept and why
    assert browser.find_element(By.ID, "dsr-status").text == "Completed"
    trail = browser.find_element(By.ID, "events-group").text
    for action in ("Created", "Identity verified", "Subject erased", "Completed"):
        assert action in trail
    browser.find_element(By.CSS_SELECTOR, "#erasure_receipts-group a.inlineviewlink").click()
    wait_for(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "div.field-what table")))
    table = browser.find_element(By.CSS_SELECTOR, "div.field-what table").text
    assert "cdp.Customer deleted" in table
    assert "cdp.Receipt anonymised" in table
    assert "accounting" in table
    # and the customer is gone while the receipt stays, unlinked
    assert not Customer.objects.filter(pk=customer_id).exists()
    assert Receipt.objects.filter(pk=line.receipt_id, customer=None, customer_external_id="").exists()
    assert DataSubjectRequest.objects.get().status == RequestStatus.COMPLETED
