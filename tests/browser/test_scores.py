"""In a real browser: a CRM user opens a scored customer's profile and reads the churn-risk and lifetime-value slots
(probability, band, reasons, the model version and its date; money as people read it; no raw keys or ids)."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from cdp.models import SourceRecord
from segments.selectors import latest_scores
from segments.services.scoring import scores_run
from tests.browser.test_profile import log_in
from tests.conftest import make_role_user
from tests.segments.offer_data import build_responded
from tests.segments.scoring_data import import_retailer, small_retailer_settings, write_retailer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_crm_reads_the_churn_risk_and_lifetime_value_of_a_customer(browser, live_server, tmp_path, settings):
    # given a scored retailer and a CRM user
    small_retailer_settings(settings)
    import_retailer(write_retailer(tmp_path, per_persona=30))
    scores_run(kinds=["churn", "clv"])
    gifter = SourceRecord.objects.get(external_id="P300004").customer
    found = latest_scores([gifter.pk])[gifter.pk]
    make_role_user("crm")
    log_in(browser, live_server, "crm")
    # when they open the customer's profile
    browser.get(f"{live_server.url}/customers/{gifter.pk}/")
    churn = WebDriverWait(browser, 10).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-panel=churn_risk] .churn-probability"))
    )
    # then the churn slot shows the probability, its band, the reasons in words and the model version with its date
    assert f"{round(found['churn_probability'] * 100)}%" in churn.text
    assert {"low": "Low risk", "medium": "Medium risk", "high": "High risk"}[found["churn_band"]] in churn.text
    reasons = [
        item.text for item in browser.find_elements(By.CSS_SELECTOR, "[data-panel=churn_risk] .churn-reasons li")
    ]
    assert reasons == found["churn_reasons"]
    assert reasons[0].startswith("seasonal buyer")
    version = browser.find_element(By.CSS_SELECTOR, "[data-panel=churn_risk] .model-version").text
    assert re.fullmatch(r"Model churn v1 \(\d{4}-\d{2}-\d{2}\), scored on \d{1,2} \w{3} \d{4}\.", version), version
    # and the value slot shows money as people read it, the expected next order, and its own model version
    value = browser.find_element(By.CSS_SELECTOR, "[data-panel=lifetime_value]").text
    assert re.search(r"Spent so far\s*€[\d,]+\.\d\d", value), value
    assert "Predicted over the next 365 days" in value
    assert "Model clv v1 (" in value
    # no raw key or internal id shows
    page = browser.find_element(By.CSS_SELECTOR, "[data-panel=churn_risk]").text + value
    assert "churn_probability" not in page
    assert "p_alive" not in page
    assert str(gifter.pk) not in page


def test_crm_reads_the_next_purchase_and_the_response_to_an_offer(browser, live_server, tmp_path, settings):
    # given a retailer whose past campaign's control group shows who buys because of an offer, scored after it
    build_responded(write_retailer(tmp_path, per_persona=60), settings, tmp_path)
    scores_run(kinds=["propensity"])
    hunters = SourceRecord.objects.filter(external_id__startswith="P2").values_list("customer_id", flat=True)
    found = latest_scores(list(hunters))
    hunter, row = max(found.items(), key=lambda item: item[1]["offer_uplift"])
    make_role_user("crm")
    log_in(browser, live_server, "crm")
    # when a CRM user opens a bargain hunter's profile
    browser.get(f"{live_server.url}/customers/{hunter}/")
    panel = WebDriverWait(browser, 10).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-panel=propensity]"))
    )
    text = panel.text
    # then the slot shows the chance of buying, the likeliest categories by name, and what an offer changes
    assert f"{round(row['purchase_probability'] * 100)}% chance of buying in the next 30 days" in text
    assert "Grocery" in text
    offer = panel.find_element(By.CSS_SELECTOR, ".offer-response").text
    offered, without = (
        round(row["offered_purchase_probability"] * 100),
        round(row["not_offered_purchase_probability"] * 100),
    )
    assert f"{offered}% chance of buying in its window, {without}% without" in offer
    assert f"The offer adds {round(row['offer_uplift'] * 100)} points." in offer
    assert "Model propensity v1 (" in text
    # and no raw key or internal id
    assert "purchase_probability" not in text
    assert "offer_uplift" not in text
    assert str(hunter) not in text
