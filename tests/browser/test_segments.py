"""In a real browser: a marketing analyst starts a segmentation from the pages, follows it until it is done, reads the
run and a segment, and opens a customer's profile from it; a CRM user cannot start one."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from cdp.demo import behaviours
from tests.browser.test_profile import log_in
from tests.cdp.importing import run_command
from tests.conftest import make_role_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 60  # the run computes features and tries fourteen values of k


def test_marketing_runs_a_segmentation_from_the_pages(browser, live_server, tasks_run, tmp_path):
    # given a retailer of five behaviours and a marketing analyst
    files = behaviours.write(tmp_path, per_persona=25, seed=5)
    for command, path in (
        ("import_customers", files.customers),
        ("import_consents", files.consents),
        ("import_transactions", files.transactions),
    ):
        assert run_command(command, path, "crm")[0] == 0
    make_role_user("marketing")
    log_in(browser, live_server, "marketing")
    # when they open Segments, and start a k-means run with k chosen automatically
    browser.find_element(By.LINK_TEXT, "Segments").click()
    Select(browser.find_element(By.ID, "id_algorithm")).select_by_value("kmeans")
    browser.find_element(By.CSS_SELECTOR, "form.inline-form button[type=submit]").click()
    # then the run's page follows it until it is done, and shows its segments and charts
    WebDriverWait(browser, WAIT_SECONDS).until(ec.presence_of_element_located((By.CSS_SELECTOR, "table.segments")))
    rows = browser.find_elements(By.CSS_SELECTOR, "table.segments tbody tr")
    assert len(rows) == len(behaviours.PERSONAS)
    assert browser.find_elements(By.CSS_SELECTOR, "svg[aria-label='silhouette by number of segments']")
    assert browser.find_elements(By.CSS_SELECTOR, "svg[aria-label='segments by feature']")
    assert "S1" in browser.find_element(By.CSS_SELECTOR, "table.crosstab").text
    # and a segment's page lists its customers, each linked to their profile
    rows[0].find_element(By.CSS_SELECTOR, "a").click()
    member = WebDriverWait(browser, 10).until(ec.element_to_be_clickable((By.CSS_SELECTOR, "ul.members li a")))
    name = member.text
    member.click()
    WebDriverWait(browser, 10).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "h1.profile-name"), name))
    assert browser.find_element(By.CSS_SELECTOR, "[data-panel=segment] .segment-name").text


def test_crm_reads_segments_but_starts_none(browser, live_server):
    make_role_user("crm")
    log_in(browser, live_server, "crm")
    browser.find_element(By.LINK_TEXT, "Segments").click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.CSS_SELECTOR, "table.runs")))
    assert not browser.find_elements(By.ID, "id_algorithm")
