"""Scores through the services and the `score` command on a retailer of five behaviours: the back-test cut, the
registry, the consent boundary, the nightly refresh, the selectors campaigns read, and the profile's slots."""

from __future__ import annotations

import csv
import datetime as dt
import json
from io import StringIO

import numpy as np
import pytest

from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from cdp.features.selectors import feature_matrix
from cdp.features.services import as_of_moment
from cdp.models import Receipt, ReceiptLine, SourceRecord
from consent.models import ProcessingRun
from consent.services.restriction import objection_record
from segments.models import CustomerScore, ModelVersion
from segments.selectors import customers_with_score, latest_scores
from segments.services.propensity import DISCOUNT
from segments.services.registry import CHECKSUM_MISMATCH, artefact_load, model_version_activate
from segments.services.scoring import scores_refresh, scores_run
from tests.segments.helpers import profile
from tests.segments.scoring_data import import_retailer, small_retailer_settings, write_retailer

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2025, 10, 1)


@pytest.fixture(scope="module")
def retailer(tmp_path_factory):
    return write_retailer(tmp_path_factory.mktemp("scores"))


@pytest.fixture
def scored(retailer, settings):
    small_retailer_settings(settings)
    import_retailer(retailer)
    return scores_run(kinds=["churn", "propensity", "clv"])


def customer(external_id: str):
    return SourceRecord.objects.get(external_id=external_id).customer


def close(a, b) -> bool:
    """Equal, floats to 1e-6 (the same fit on features equal to the last bit but summed in another order)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(close(x, z) for x, z in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-6
    return a == b


def score(*args: str, **options) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("score", *args, stdout=out, **options)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def test_a_purchase_after_the_cutoff_changes_no_feature_and_no_training_label(retailer, settings):
    # given the retailer scored as of a date in its past
    small_retailer_settings(settings)
    import_retailer(retailer)
    before = scores_run(kinds=["churn"], as_of=AS_OF, horizon_days=60)
    version = before.versions[0]
    assert version.status == ModelVersion.Status.SUCCEEDED, version.message
    # when a purchase is planted just after the cutoff (inside the back-test's horizon), by a gardener who buys in
    # spring only (so the back-test had them churned)
    buyer = customer("P400001")
    template = Receipt.objects.filter(customer=buyer).first()
    planted = Receipt.objects.create(
        source=template.source, receipt_id="PLANTED", customer=buyer, channel="store", currency="EUR",
        purchased_at=as_of_moment(AS_OF) + dt.timedelta(seconds=1), total_minor=99_900, item_count=1,
    )  # fmt: skip
    ReceiptLine.objects.create(
        receipt=planted, line_no=1, product=template.lines.first().product, quantity=1,
        unit_price_minor=99_900, amount_minor=99_900,
    )  # fmt: skip
    after = scores_run(kinds=["churn"], as_of=AS_OF, horizon_days=60)
    again = after.versions[0]
    # then no customer's features as of the date moved
    first, second = feature_matrix(version.snapshot), feature_matrix(again.snapshot)
    assert first.customer_ids == second.customer_ids
    assert first.names == second.names
    assert np.allclose(first.values, second.values, rtol=0, atol=1e-9)  # DuckDB sums in parallel, in any order
    # and the model learned the same thing from the same labels (fit and validation before the date)
    assert close(again.metrics["validation"], version.metrics["validation"])
    assert again.parameters["base_rate"] == version.parameters["base_rate"]
    scores = dict(version.scores.values_list("customer_id", "score"))
    assert dict(again.scores.values_list("customer_id", "score")) == pytest.approx(scores, abs=1e-5)
    # while the back-test, which reads the horizon after the date, saw it
    assert again.metrics["backtest"] != version.metrics["backtest"]
    assert version.training_end == again.training_end == version.as_of


def test_the_registry_numbers_versions_keeps_one_active_and_checks_the_artefact(scored):
    versions = {v.kind: v for v in scored.versions}
    assert all(v.status == ModelVersion.Status.SUCCEEDED for v in versions.values()), [
        v.message for v in versions.values()
    ]
    churn = versions["churn"]
    # every version keeps what it was fitted on and with
    assert churn.is_active
    assert churn.number == 1
    assert churn.name.startswith("churn v1 (")
    assert {"scikit-learn", "scipy", "numpy"} <= set(churn.library_versions)
    assert churn.snapshot is not None
    assert churn.customers > 0
    assert churn.scored > 0
    assert {"roc_auc", "pr_auc", "brier", "top_decile_lift", "reliability"} <= set(
        churn.metrics["validation"]["gradient_boosting"]
    )
    assert "roc_auc" in churn.metrics["validation"]["logistic"]
    assert "roc_auc" in churn.metrics["validation"]["recency_alone"]
    clv = versions["clv"]
    assert {"r", "alpha", "a", "b", "p", "q", "gamma", "time_unit"} <= set(clv.parameters)
    assert clv.parameters["time_unit"] == "week"
    # a second scoring makes v2 the active one, v1 stays in the registry
    second = scores_run(kinds=["churn"]).versions[0]
    assert second.number == 2
    assert second.is_active
    assert not ModelVersion.objects.get(pk=churn.pk).is_active
    assert ModelVersion.objects.filter(kind="churn", is_active=True).count() == 1
    model_version_activate(version=churn)
    assert ModelVersion.objects.filter(kind="churn", is_active=True).get().pk == churn.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=second.pk).update(is_active=True)
    # the artefact loads only when its checksum matches
    assert artefact_load(churn)["model"] is not None
    tampered = bytearray(bytes(churn.artefact))
    tampered[-1] ^= 1
    churn.artefact = bytes(tampered)
    with pytest.raises(ValueError, match=CHECKSUM_MISMATCH):
        artefact_load(churn)
    # and the processing register lists each run under scoring
    assert ProcessingRun.objects.filter(activity__key="scoring").count() == 4


def test_the_selectors_campaigns_read(scored):
    gourmet = customer("P100003")  # a weekly gourmet: buys every week
    found = latest_scores([gourmet.pk])[gourmet.pk]
    assert 0 <= found["churn_probability"] <= 1
    assert found["churn_band"] in {"low", "medium", "high"}
    assert isinstance(found["churn_reasons"], list)
    assert 0 <= found["purchase_probability"] <= 1
    assert found["expected_purchases"] > 0
    assert 0 <= found["p_alive"] <= 1
    assert found["expected_value"] > 0
    assert found["historic_value"] > 0
    assert found["next_order_date"] is None or isinstance(found["next_order_date"], dt.date)
    assert len(found["model_versions"]) == 3
    assert any(name.startswith("churn v1 (") for name in found["model_versions"])
    # filters on the active scores
    high = set(customers_with_score("churn_probability", min_value=0.5))
    assert high
    assert all(latest_scores([c])[c]["churn_probability"] >= 0.5 for c in list(high)[:5])
    assert set(customers_with_score("churn_band", band="high")) <= high | set(
        customers_with_score("churn_probability", min_value=0.0)
    )
    category = next(k for k in found if k.startswith("purchase_probability_"))
    assert set(customers_with_score(category, min_value=0.0)) >= {gourmet.pk}
    # no category, nor a discounted purchase, is ever likelier than buying at all
    for row in latest_scores(list(SourceRecord.objects.values_list("customer_id", flat=True))).values():
        if "purchase_probability" in row:
            parts = [v for k, v in row.items() if k.startswith("purchase_probability_") or k == DISCOUNT]
            assert parts
            assert max(parts) <= row["purchase_probability"] + 1e-6
    alive = set(customers_with_score("p_alive", min_value=0.5, max_value=1.0))
    assert gourmet.pk in alive
    with pytest.raises(ValueError, match="unknown score field 'loyalty'"):
        customers_with_score("loyalty")
    with pytest.raises(ValueError, match="band"):
        customers_with_score("churn_band", band="severe")


def test_seasonal_buyers_are_recognised_in_the_reasons(scored):
    gifter = customer("P300001")  # buys gifts in November and December only
    reasons = latest_scores([gifter.pk])[gifter.pk]["churn_reasons"]
    assert reasons[0].startswith("seasonal buyer")


def test_customers_who_object_are_not_scored_nor_shown(retailer, settings):
    small_retailer_settings(settings)
    import_retailer(retailer)
    objected = customer("P200002")
    objection_record(customer=objected, scope="profiling")
    scores_run(kinds=["churn", "clv"])
    assert not CustomerScore.objects.filter(customer=objected).exists()
    # one who objects after the scoring leaves every read at once, and the nightly refresh drops their rows
    later = customer("P200003")
    assert later.pk in latest_scores([later.pk])
    objection_record(customer=later, scope="profiling")
    assert later.pk not in latest_scores([later.pk])
    assert later.pk not in set(customers_with_score("churn_probability", min_value=0))
    counts = scores_refresh()
    assert set(counts) == {"churn", "clv"}
    assert not CustomerScore.objects.filter(customer=later).exists()
    # the refresh is idempotent: run again, the same customers with the same scores
    rows = dict(CustomerScore.objects.filter(version__kind="churn").values_list("customer_id", "score"))
    assert scores_refresh() == counts
    assert dict(CustomerScore.objects.filter(version__kind="churn").values_list("customer_id", "score")) == rows


def test_the_command_writes_the_report_and_the_predictions(retailer, settings, tmp_path):
    small_retailer_settings(settings)
    import_retailer(retailer)
    code, out = score("all", "--as-of", AS_OF.isoformat(), "--horizon-days", "60",
                      report=str(tmp_path / "r.json"), predictions=str(tmp_path / "p.csv"))  # fmt: skip
    assert code == 0, out
    assert out.startswith("churn v1 (")
    assert "recency alone" in out
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert set(report["models"]) == {"churn", "propensity", "clv"}
    clv = report["models"]["clv"]
    assert {"r", "alpha", "a", "b", "p", "q", "gamma", "time_unit"} <= set(clv["parameters"])
    assert {"bgnbd", "naive_same_rate", "actual_purchases"} <= set(clv["metrics"]["backtest"])
    assert "backtest" in report["models"]["churn"]["metrics"]
    with (tmp_path / "p.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    assert header[:4] == ["customer_id", "external_ids", "churn_probability", "purchase_probability"]
    assert header[-3:] == ["expected_purchases", "p_alive", "expected_value"]
    assert any(name.startswith("purchase_probability_") for name in header)
    assert rows[0]["external_ids"].startswith("crm:P")
    # a back-test's versions are not made active: the profile keeps today's
    assert not ModelVersion.objects.filter(is_active=True).exists()


def test_the_command_says_what_it_cannot_do(retailer, settings, tmp_path):
    small_retailer_settings(settings)
    assert score("survival")[0] == 2
    assert "not available yet" in score("survival")[1]
    assert score("churn", "--as-of", "01/10/2025")[0] == 2
    assert score("churn", "--horizon-days", "0")[0] == 2
    # nobody yet: not enough data, said in words, the report written, nothing scored
    code, out = score("all", report=str(tmp_path / "r.json"))
    assert code == 1
    assert "not enough data" in out
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["models"]["clv"]["status"] == (
        "not_enough_data"
    )
    assert not CustomerScore.objects.exists()


def test_the_profile_shows_the_scores_with_their_model_version(scored, client, role_users):
    gifter = customer("P300002")
    client.force_login(role_users["crm"])
    body = client.get(reverse("customers:profile", args=[gifter.pk])).content.decode()
    found = latest_scores([gifter.pk])[gifter.pk]
    assert "churn v1 (" in body
    assert "clv v1 (" in body
    assert found["churn_reasons"][0] in body
    assert "Spent so far" in body
    assert "Expected next order" in body
    panels = profile(client, gifter)["panels"]
    assert panels["churn_risk"]["status"] == "scored"
    assert panels["churn_risk"]["model_version"].startswith("churn v1 (")
    assert panels["churn_risk"]["churn_band"] == found["churn_band"]
    assert panels["lifetime_value"]["p_alive"] == found["p_alive"]


def test_the_profile_says_when_there_is_not_enough_data(retailer, settings, client, role_users):
    # given a retailer too small for the product's defaults (500 buyers)
    import_retailer(retailer)
    assert scores_run(kinds=["churn", "clv"]).versions[0].status == ModelVersion.Status.NOT_ENOUGH_DATA
    client.force_login(role_users["crm"])
    body = client.get(reverse("customers:profile", args=[customer("P100001").pk])).content.decode()
    assert "Not enough data to predict" in body
    assert "customers bought before" in body


def test_the_api_reads_scores_per_customer_and_in_bulk(scored, client, role_users):
    client.force_login(role_users["marketing"])
    gourmet = customer("P100004")
    one = client.get(f"/api/v1/scores/customers/{gourmet.pk}/")
    assert one.status_code == 200
    assert one.json()["scores"]["churn_band"] in {"low", "medium", "high"}
    bulk = client.get("/api/v1/scores/", {"field": "expected_value", "min": 0})
    assert bulk.status_code == 200
    assert bulk.json()["count"] == CustomerScore.objects.filter(version__kind="clv").count()
    assert len(bulk.json()["results"]) == min(100, bulk.json()["count"])
    assert client.get("/api/v1/scores/", {"band": "high"}).status_code == 200
    for bad in ({"field": "nope"}, {"band": "severe"}, {"field": "p_alive", "band": "high"}, {"min": "x"},
                {"page": "0"}, {"field": ""}):  # fmt: skip
        response = client.get("/api/v1/scores/", bad)
        assert response.status_code == 400, (bad, response.content)
    assert client.get("/api/v1/scores/customers/not-a-uuid/").status_code == 404
    versions = client.get("/api/v1/scores/models/", {"kind": "clv"}).json()
    assert versions["count"] == 1
    assert versions["results"][0]["parameters"]["time_unit"] == "week"
    assert client.get("/api/v1/scores/models/zz/").status_code == 404
    client.force_login(role_users["sales"])
    assert client.get("/api/v1/scores/").status_code == 403


def test_the_segment_pages_show_the_scores_per_segment(scored, client, role_users):
    from segments.services.clustering import segmentation_run_create, segmentation_run_execute

    run = segmentation_run_execute(run_id=segmentation_run_create(k=5).pk)
    client.force_login(role_users["crm"])
    body = client.get(reverse("segments:run", args=[run.pk])).content.decode()
    assert "Scores by segment" in body
    assert "churn v1 (" in body
    segment = run.segments.first()
    assert "Scores by segment" in client.get(reverse("segments:segment", args=[segment.pk])).content.decode()
