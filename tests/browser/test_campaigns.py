"""In a real browser: a sales rep logs in, sees their briefs, downloads one as CSV and as PDF, and gets a 404 on
another rep's brief; a marketing analyst builds a campaign from the pages, previews it, launches it and reads the
results."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from campaigns.models import BriefDownload, Campaign
from campaigns.services.briefs import brief_create, brief_generate
from campaigns.services.launch import campaign_create, campaign_launch
from tests.browser.test_profile import log_in
from tests.campaigns.retailer import CHANNEL, PURPOSE, build
from tests.conftest import make_role_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _downloaded(folder: Path, suffix: str, seconds: float = 20) -> Path:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [p for p in folder.glob(f"*{suffix}") if p.stat().st_size > 0]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no {suffix} file was downloaded into {folder}")


def test_a_sales_rep_downloads_their_brief_and_not_another_reps(browser, live_server, tmp_path):
    # given a launched campaign with a brief for each of two reps
    build(tmp_path / "retailer")
    campaign = campaign_launch(campaign=campaign_create(name="Autumn", purpose=PURPOSE, channel=CHANNEL)).campaign
    sales = make_role_user("sales")
    other = type(sales).objects.create_user(username="sales2")  # a second rep, in the sales group
    other.groups.add(*sales.groups.all())
    mine = brief_generate(brief_id=brief_create(campaign=campaign, rep=sales, start=False).pk)
    theirs = brief_generate(brief_id=brief_create(campaign=campaign, rep=other, start=False).pk)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    # when the rep logs in, their home lists their brief only
    log_in(browser, live_server, "sales")
    briefs = browser.find_element(By.ID, "briefs")
    assert browser.find_elements(By.CSS_SELECTOR, f"[data-brief='{mine.pk}']")
    assert not browser.find_elements(By.CSS_SELECTOR, f"[data-brief='{theirs.pk}']")
    assert str(mine.lead_count) in briefs.text
    # and they open it and download it as CSV and as PDF
    browser.find_element(By.CSS_SELECTOR, f"[data-brief='{mine.pk}'] a").click()
    WebDriverWait(browser, 10).until(ec.element_to_be_clickable((By.ID, "download-csv"))).click()
    csv_file = _downloaded(downloads, ".csv")
    assert csv_file.read_text(encoding="utf-8-sig").startswith("rank,customer_id")
    browser.find_element(By.ID, "download-pdf").click()
    assert _downloaded(downloads, ".pdf").read_bytes().startswith(b"%PDF")
    assert BriefDownload.objects.filter(brief=mine, user=sales).count() == 2
    # then another rep's brief does not exist for them
    browser.get(f"{live_server.url}/campaigns/briefs/{theirs.pk}/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "404"
    browser.get(f"{live_server.url}/campaigns/briefs/{theirs.pk}/download.csv")
    assert browser.find_element(By.TAG_NAME, "h1").text == "404"
    # and no campaign page either
    browser.get(f"{live_server.url}/campaigns/{campaign.pk}/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "403"


def _set(browser, element_id: str, value: str) -> None:
    element = browser.find_element(By.ID, element_id)
    browser.execute_script("arguments[0].value = arguments[1]", element, value)


def test_marketing_builds_previews_launches_and_reads_results(browser, live_server, tmp_path):
    # given a segmented retailer with mixed consents, and a marketing analyst
    build(tmp_path / "retailer")
    make_role_user("marketing")
    log_in(browser, live_server, "marketing")
    # when they build a campaign from the pages
    browser.find_element(By.LINK_TEXT, "Campaigns").click()
    form = WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "campaign-new")))
    form.find_element(By.ID, "id_name").send_keys("Back to school")
    Select(form.find_element(By.ID, "id_purpose")).select_by_value(PURPOSE)
    Select(form.find_element(By.ID, "id_channel")).select_by_value(CHANNEL)
    _set(browser, "id_starts_on", "2026-09-01")
    _set(browser, "id_ends_on", "2026-09-14")
    form.find_element(By.ID, "id_control_share").clear()
    form.find_element(By.ID, "id_control_share").send_keys("0.3")
    form.find_element(By.ID, "id_default_offer").send_keys("10% off")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # and add a rule to the decision matrix
    rule = WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "rule-new")))
    Select(rule.find_element(By.ID, "id_segment")).select_by_index(1)
    rule.find_element(By.ID, "id_offer").send_keys("Free delivery")
    rule.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 10).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, "table.rules"), "Free delivery")
    )
    # and preview it: who is left out, and why
    browser.find_element(By.ID, "preview").click()
    table = WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.CSS_SELECTOR, "table.exclusions")))
    assert "no consent for this purpose and channel" in table.text
    eligible = int(browser.find_element(By.CSS_SELECTOR, "[data-figure=eligible] .value").text.replace(",", ""))
    assert eligible > 0
    # then they launch it
    browser.find_element(By.CSS_SELECTOR, "#launch button").click()
    # (the preview shows a control figure too: wait for what only a launched campaign's page has)
    WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "briefs")))
    campaign = Campaign.objects.get(name="Back to school")
    assert campaign.status == Campaign.Status.LAUNCHED
    assert campaign.audience_size == eligible
    # and measure it and read the results
    browser.find_element(By.CSS_SELECTOR, "#measure button").click()
    overall = WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "overall")))
    assert "Conversion" in overall.text
    assert "inconclusive" in overall.text  # two hundred customers are too few to conclude
    assert browser.find_elements(By.CSS_SELECTOR, "#segments table.comparison")
