"""Segmentation through the `segment` command on a retailer whose customers behave in clearly different ways, the
consent boundary, the analyst's edits, freezing and assignment, and who may start a run."""

from __future__ import annotations

import csv
import datetime as dt
import json
from io import StringIO
from pathlib import Path

import pytest
from sklearn.metrics import adjusted_rand_score

from django.core.management import call_command
from django.urls import reverse

from cdp.demo import behaviours
from cdp.models import CustomerFeatures, SourceRecord
from consent.services.restriction import objection_record, restriction_apply
from segments.models import Segment, SegmentationRun, SegmentMembership
from segments.selectors import export_rows, segment_flows, segment_members
from segments.services.assignment import segment_assign, segmentation_freeze
from segments.services.clustering import segmentation_run_create, segmentation_run_execute
from segments.services.editing import segment_split, segments_merge
from tests.cdp.importing import run_command
from tests.segments.helpers import profile

pytestmark = pytest.mark.django_db

PER_PERSONA = 40


@pytest.fixture(scope="module")
def retailer(tmp_path_factory) -> behaviours.Files:
    return behaviours.write(tmp_path_factory.mktemp("behaviours"), per_persona=PER_PERSONA, seed=11)


def import_retailer(files: behaviours.Files) -> None:
    for command, path in (
        ("import_customers", files.customers),
        ("import_consents", files.consents),
        ("import_transactions", files.transactions),
    ):
        code, out = run_command(command, path, "crm")
        assert code == 0, out


def segment(tmp_path: Path, *options: str) -> tuple[str, dict, list[dict]]:
    out = StringIO()
    call_command("segment", *options, report=str(tmp_path / "run.json"), export=str(tmp_path / "run.csv"), stdout=out)
    report = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    with (tmp_path / "run.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return out.getvalue(), report, rows


def test_the_command_finds_the_personas_with_an_automatic_k(retailer, tmp_path):
    # given a retailer of five behaviours, imported as a user would
    import_retailer(retailer)
    # when it is segmented with k chosen automatically
    summary, report, rows = segment(tmp_path, "--k", "auto")
    # then the segments are the personas
    truth = [retailer.truth[row["external_ids"].split(":", 1)[1]] for row in rows]
    assert adjusted_rand_score(truth, [row["segment"] for row in rows]) >= 0.9
    assert report["k"] == len(behaviours.PERSONAS)
    # and the report holds the parameters, every k's metrics and the sizes; the export one row per customer
    assert [point["k"] for point in report["curve"]] == list(range(2, 16))
    assert {"silhouette", "calinski_harabasz", "davies_bouldin", "inertia"} <= set(report["curve"][0])
    parameters = report["parameters"]
    assert 2 <= parameters["components"] <= parameters["components_for_variance"]
    assert parameters["components"] <= max(2, parameters["components_above_noise"])
    assert 0 < parameters["explained_variance"] <= 1
    assert sum(item["size"] for item in report["segments"]) == len(rows) == PER_PERSONA * len(behaviours.PERSONAS)
    assert set(rows[0]) == {"customer_id", "external_ids", "segment"}
    assert summary.startswith(f"segmentation run {report['run']}: {len(rows)} customers in {report['k']} segments")
    # and every segment is named and described in words
    assert all(item["name"] and item["description"] for item in report["segments"])


def test_a_given_k_and_the_other_methods(retailer, tmp_path):
    import_retailer(retailer)
    _, report, rows = segment(tmp_path, "--k", "3")
    assert report["k"] == 3
    assert len({row["segment"] for row in rows}) == 3
    for method in ("ward", "hdbscan"):
        _, report, rows = segment(tmp_path, "--algorithm", method)
        truth = [retailer.truth[row["external_ids"].split(":", 1)[1]] for row in rows]
        assert adjusted_rand_score(truth, [row["segment"] for row in rows]) >= 0.9, method


def test_customers_who_objected_or_are_restricted_never_appear(retailer, tmp_path):
    # given the retailer, one customer who objected to profiling and one restricted
    import_retailer(retailer)
    objected, restricted, later = (
        SourceRecord.objects.get(external_id=external_id).customer for external_id in ("P100001", "P200002", "P300003")
    )
    objection_record(customer=objected, scope="profiling")
    restriction_apply(customer=restricted, reason="accuracy contested")
    # when a run is made
    _, report, rows = segment(tmp_path)
    run = SegmentationRun.objects.get(pk=report["run"])
    # then neither is in its snapshot, its segments or its export
    hidden = {objected.pk, restricted.pk}
    assert not CustomerFeatures.objects.filter(snapshot=run.snapshot, customer__in=hidden).exists()
    assert not SegmentMembership.objects.filter(run=run, customer__in=hidden).exists()
    assert not hidden & {row["customer_id"] for row in rows}
    # and one who objects after the run leaves its pages and exports at once
    objection_record(customer=later, scope="profiling")
    assert later.pk not in {customer for customer, _, _ in export_rows(run)}
    for segment_ in run.segments.all():
        assert later not in segment_members(segment_)


def test_merge_and_split_keep_every_customer_in_exactly_one_segment(retailer):
    import_retailer(retailer)
    run = segmentation_run_execute(run_id=segmentation_run_create(k=5).pk)
    customers = set(SegmentMembership.objects.filter(run=run).values_list("customer_id", flat=True))

    def current() -> dict:
        rows = SegmentMembership.objects.filter(run=run, left_at__isnull=True).values_list("customer_id", "segment_id")
        found: dict = {}
        for customer, segment_id in rows:
            assert customer not in found  # exactly one current segment
            found[customer] = segment_id
        return found

    first, second = run.segments.order_by("number")[:2]
    sizes = first.size + second.size
    kept = segments_merge(keep=first, other=second)
    assert set(current()) == customers
    assert kept.size == sizes
    assert Segment.objects.get(pk=second.pk).retired
    children = segment_split(segment=kept, parts=2)
    assert set(current()) == customers
    assert sum(child.size for child in children) == sizes
    assert all(child.parent_id == kept.pk for child in children)
    assert Segment.objects.get(pk=kept.pk).retired
    # and the moves are in the customers' history
    moved = SegmentMembership.objects.filter(run=run, origin=SegmentMembership.Origin.EDIT)
    assert moved.count() >= sizes


def test_a_frozen_segmentation_assigns_reproducibly(retailer):
    import_retailer(retailer)
    run = segmentation_run_execute(run_id=segmentation_run_create().pk)
    frozen = segmentation_freeze(run=run)
    assert frozen.is_active
    assert frozen.classifier_metrics["cv_accuracy"] >= 0.95
    before = set(
        SegmentMembership.objects.filter(run=run, left_at__isnull=True).values_list("customer_id", "segment_id")
    )
    first = segment_assign()
    after_first = set(
        SegmentMembership.objects.filter(run=run, left_at__isnull=True).values_list("customer_id", "segment_id")
    )
    second = segment_assign()
    after_second = set(
        SegmentMembership.objects.filter(run=run, left_at__isnull=True).values_list("customer_id", "segment_id")
    )
    # the same data gives the same segments, and a second assignment moves nobody
    assert after_first == after_second == before
    assert first["moved"] == second["moved"] == 0
    assert second["new"] == 0


def test_a_run_executed_twice_is_not_run_again(retailer):
    import_retailer(retailer)
    run = segmentation_run_create()
    segmentation_run_execute(run_id=run.pk)
    memberships = SegmentMembership.objects.count()
    again = segmentation_run_execute(run_id=run.pk)
    assert again.status == SegmentationRun.Status.SUCCEEDED
    assert SegmentMembership.objects.count() == memberships


def test_only_marketing_starts_a_run(client, role_users):
    for role, expected in (("marketing", 302), ("crm", 403), ("sales", 403), ("dpo", 403)):
        client.force_login(role_users[role])
        response = client.post(reverse("segments:run-new"), {"algorithm": "kmeans"})
        assert response.status_code == expected, role
    assert SegmentationRun.objects.count() == 1
    client.force_login(role_users["sales"])
    assert client.get(reverse("segments:runs")).status_code == 403
    client.force_login(role_users["crm"])
    assert client.get(reverse("segments:runs")).status_code == 200


def test_the_profile_shows_the_customer_s_segment(retailer, client, role_users):
    import_retailer(retailer)
    run = segmentation_freeze(run=segmentation_run_execute(run_id=segmentation_run_create().pk))
    customer = SourceRecord.objects.get(external_id="P100005").customer
    membership = SegmentMembership.objects.get(run=run, customer=customer)
    client.force_login(role_users["crm"])
    body = client.get(reverse("customers:profile", args=[customer.pk])).content.decode()
    assert membership.segment.name in body
    assert membership.segment.description[:30] in body
    api = profile(client, customer)
    assert api["panels"]["segment"]["segment"]["name"] == membership.segment.name


@pytest.mark.usefixtures("eager_tasks")
def test_the_api_lists_runs_starts_one_and_reads_segments(
    retailer, client, role_users, django_capture_on_commit_callbacks
):
    import_retailer(retailer)
    client.force_login(role_users["marketing"])
    # a run started through the API (in-process here: no broker), then read back with its segments
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            "/api/v1/segments/runs/", {"algorithm": "kmeans", "k": 5}, content_type="application/json"
        )
    assert started.status_code == 202, started.content
    run_id = started.json()["id"]
    run = client.get(f"/api/v1/segments/runs/{run_id}/").json()
    assert run["status"] == "succeeded"
    assert len(run["segments"]) == 5
    segment = run["segments"][0]
    assert client.get(f"/api/v1/segments/{segment['id']}/").json()["name"] == segment["name"]
    customers = client.get(f"/api/v1/segments/{segment['id']}/customers/").json()
    assert customers["count"] == segment["size"]
    assert client.get("/api/v1/segments/runs/").json()["count"] == 1
    assert client.get("/api/v1/segments/runs/x/").status_code == 404
    # CRM reads, does not start; sales neither
    client.force_login(role_users["crm"])
    assert client.get(f"/api/v1/segments/runs/{run_id}/").status_code == 200
    assert client.post("/api/v1/segments/runs/", {}, content_type="application/json").status_code == 403
    client.force_login(role_users["sales"])
    assert client.get("/api/v1/segments/runs/").status_code == 403


def test_movements_between_two_dates_are_counted_and_shown(retailer, client, role_users):
    import_retailer(retailer)
    run = segmentation_freeze(run=segmentation_run_execute(run_id=segmentation_run_create().pk))
    first, second = list(Segment.objects.filter(run=run).order_by("number"))[:2]
    start = run.frozen_at + dt.timedelta(days=1)
    moved_at = run.frozen_at + dt.timedelta(days=10)
    # given three customers of the first segment who move to the second on day 10 (one of them back on day 20)
    movers = list(SegmentMembership.objects.filter(segment=first, left_at__isnull=True)[:3])
    for membership in movers:
        SegmentMembership.objects.filter(pk=membership.pk).update(left_at=moved_at)
        SegmentMembership.objects.create(
            customer_id=membership.customer_id, run=run, segment=second, entered_at=moved_at
        )
    back_at = moved_at + dt.timedelta(days=10)
    SegmentMembership.objects.filter(customer_id=movers[0].customer_id, segment=second).update(left_at=back_at)
    SegmentMembership.objects.create(customer_id=movers[0].customer_id, run=run, segment=first, entered_at=back_at)
    stay_first = SegmentMembership.objects.filter(segment=first, entered_at__lte=start).count() - 3
    # then the flows between day 1 and day 15, and between day 1 and day 25, are what happened
    flows = segment_flows(run, start, moved_at + dt.timedelta(days=5))
    assert flows[(first.pk, second.pk)] == 3
    assert flows[(first.pk, first.pk)] == stay_first
    assert flows.get((second.pk, first.pk), 0) == 0
    later = segment_flows(run, start, back_at + dt.timedelta(days=5))
    assert later[(first.pk, second.pk)] == 2
    assert later[(first.pk, first.pk)] == stay_first + 1
    # and the run's page shows the table for the dates asked, and refuses dates in the wrong order with a message
    client.force_login(role_users["marketing"])
    url = reverse("segments:run", args=[run.pk])
    body = client.get(
        url, {"start": start.date().isoformat(), "end": (moved_at + dt.timedelta(days=5)).date().isoformat()}
    ).content.decode()
    assert "3 customers changed segment" in body
    wrong = client.get(url, {"start": "2030-01-02", "end": "2030-01-01"})
    assert wrong.status_code == 200
    assert "The first date must come before the second." in wrong.content.decode()
