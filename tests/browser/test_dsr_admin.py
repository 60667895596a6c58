"""In a real browser: the DPO's pages offer only the steps that apply, find a customer by name, caption the audit trail
in local time; the customer list shows active customers with their status in sight."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from cdp.models import Customer
from consent.models import DataSubjectRequest
from consent.services import requests as dsr
from consent.services.erasure import subject_erase
from tests.browser.test_erasure_request import choose_customer, do_step, log_in, wait_for
from tests.cdp.factories import CustomerFactory, SourceRecordFactory
from tests.conftest import make_role_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def step_ids(browser) -> list[str]:
    return [link.get_attribute("id") for link in browser.find_elements(By.CSS_SELECTOR, "[id^=dsr-step-]")]


def test_the_dpo_links_a_customer_found_by_name_and_sees_only_the_steps_that_apply(browser, live_server, settings):
    # given a request received by post about a customer, before anything was done
    settings.TIME_ZONE = "Europe/Paris"
    record = SourceRecordFactory(customer=CustomerFactory(first_name="Claire", last_name="Bousquet"))
    CustomerFactory(first_name="Claude", last_name="Dupuis")
    request = dsr.dsr_create(kind="access", received_via="post", subject_reference="letter of 2 Nov")
    make_role_user("dpo")
    log_in(browser, live_server, "dpo")
    page = f"{live_server.url}/admin/consent/datasubjectrequest/{request.pk}/change/"
    browser.get(page)
    # then completing is not offered before the identity is verified
    assert step_ids(browser) == ["dsr-step-link", "dsr-step-verify", "dsr-step-extend", "dsr-step-reject"]
    # when the DPO links the customer found by typing part of her name
    browser.find_element(By.ID, "dsr-step-link").click()
    choose_customer(browser, "Bousq", "Claire Bousquet")
    browser.find_element(By.ID, "dsr-step-submit").click()
    wait_for(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "ul.messagelist li.success")))
    # then the request names her, and linking is offered no more
    assert DataSubjectRequest.objects.get().customer_id == record.customer_id
    assert "dsr-step-link" not in step_ids(browser)
    # and each audit step's caption reads the same local time as its row
    trail = browser.find_element(By.ID, "events-group")
    caption = trail.find_elements(By.CSS_SELECTOR, "td.original p")[0].text
    row_time = trail.find_elements(By.CSS_SELECTOR, "td.field-at")[0].text
    assert row_time in caption


def test_after_an_erasure_the_request_offers_no_customer_to_link(browser, live_server):
    # given a verified erasure request, carried out
    customer = SourceRecordFactory().customer
    request = dsr.dsr_verify_identity(
        request=dsr.dsr_create(kind="erasure", received_via="email", customer=customer), method="signed letter"
    )
    subject_erase(customer=customer, reason="Art. 17", request=request)
    make_role_user("dpo")
    log_in(browser, live_server, "dpo")
    # when the DPO opens it
    browser.get(f"{live_server.url}/admin/consent/datasubjectrequest/{request.pk}/change/")
    # then completing it is offered, linking a customer or erasing again is not
    assert step_ids(browser) == ["dsr-step-extend", "dsr-step-complete", "dsr-step-reject"]
    do_step(browser, "complete", "erased; receipt sent")
    assert browser.find_element(By.ID, "dsr-status").text == "Completed"


def test_the_customer_list_shows_active_customers_with_their_status_in_sight(browser, live_server):
    # given an active customer with long values, and a customer merged into her
    survivor = CustomerFactory(
        first_name="Marie-Christine", last_name="de La Tour-Dupont", email="marie-christine.delatour@example.org"
    )
    merged = CustomerFactory(last_name="Merged")
    Customer.objects.filter(pk=merged.pk).update(status=Customer.Status.MERGED, merged_into=survivor)
    make_role_user("dpo")
    log_in(browser, live_server, "dpo")
    # when the DPO opens the customer list
    browser.get(f"{live_server.url}/admin/cdp/customer/")
    # then the merged customer is left out, the filter offers it, and the status column is within the window
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 1
    assert "Merged" not in rows[0].text
    header = browser.find_element(By.CSS_SELECTOR, "#result_list th.column-status")
    assert header.rect["x"] + header.rect["width"] <= browser.execute_script("return window.innerWidth")
    browser.find_element(By.LINK_TEXT, "Merged into another customer").click()
    assert "Merged" in browser.find_element(By.CSS_SELECTOR, "#result_list tbody").text
