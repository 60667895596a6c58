"""The admin lists every model of the product, with bounded counts and no N+1 on the big tables."""

from __future__ import annotations

import pytest

from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cdp.admin import BoundedCountPaginator
from cdp.models import Customer
from tests.cdp.factories import InteractionFactory, ReceiptLineFactory, SourceRecordFactory

pytestmark = pytest.mark.django_db

PRODUCT_APPS = {"cdp", "consent", "segments", "campaigns"}


def product_models():
    return [model for model in admin.site._registry if model._meta.app_label in PRODUCT_APPS]


def test_every_product_model_has_a_changelist(admin_client_):
    # given some rows in every big table
    ReceiptLineFactory.create_batch(3)
    InteractionFactory.create_batch(3)
    SourceRecordFactory.create_batch(2)
    for model in product_models():
        opts = model._meta
        response = admin_client_.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert response.status_code == 200, opts.label
        response = admin_client_.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), {"q": "x"})
        assert response.status_code == 200, opts.label


def test_customer_search_accepts_a_pasted_id(admin_client_):
    record = SourceRecordFactory()
    url = reverse("admin:cdp_customer_changelist")
    found = admin_client_.get(url, {"q": str(record.customer_id)})
    assert list(found.context["cl"].result_list) == [record.customer]
    by_name = admin_client_.get(url, {"q": record.customer.last_name})
    assert record.customer in by_name.context["cl"].result_list


@pytest.mark.parametrize("model_name", ["receipt", "receiptline", "interaction", "sourcerecord", "identifier"])
def test_big_table_changelists_make_the_same_queries_for_3_or_12_rows(admin_client_, model_name):
    url = reverse(f"admin:cdp_{model_name}_changelist")

    def queries_for(rows: int) -> int:
        ReceiptLineFactory.create_batch(rows)
        InteractionFactory.create_batch(rows)
        for record in SourceRecordFactory.create_batch(rows):
            record.identifiers.create(kind="email", value=f"{record.pk}@example.org", customer=record.customer)
        with CaptureQueriesContext(connection) as captured:
            assert admin_client_.get(url).status_code == 200
        return len(captured)

    assert queries_for(3) == queries_for(9)


def test_paginator_never_counts_past_its_limit_on_postgresql_and_says_the_estimate(admin_client_, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite counts exactly: the bound and the estimate are PostgreSQL's")
    # given more receipt lines than the paginator counts
    monkeypatch.setattr(BoundedCountPaginator, "COUNT_LIMIT", 5)
    monkeypatch.setattr("cdp.admin.planner_rows", lambda queryset: 17_170)
    ReceiptLineFactory.create_batch(8)
    # when the changelist is read
    with CaptureQueriesContext(connection) as captured:
        response = admin_client_.get(reverse("admin:cdp_receiptline_changelist"))
    # then it counts no further than its limit, and says the count is an estimate
    assert response.status_code == 200
    assert response.context["cl"].paginator.count == 5
    counts = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]
    assert counts, "the changelist counts its rows"
    assert all("LIMIT 5" in sql.upper() for sql in counts)
    assert "about 17,000 receipt lines" in response.content.decode()


def test_planner_rows_reads_postgresqls_estimate():
    if connection.vendor != "postgresql":
        pytest.skip("the planner's estimate is PostgreSQL's")
    from cdp.admin import planner_rows
    from cdp.models import ReceiptLine

    assert planner_rows(ReceiptLine.objects.filter(quantity__gt=0)) >= 0


def test_sqlite_counts_exactly(admin_client_, monkeypatch):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL bounds the count")
    monkeypatch.setattr(BoundedCountPaginator, "COUNT_LIMIT", 5)
    ReceiptLineFactory.create_batch(8)
    response = admin_client_.get(reverse("admin:cdp_receiptline_changelist"))
    assert response.context["cl"].paginator.count == 8
    assert "8 receipt lines" in response.content.decode()


def test_merged_customers_are_left_out_unless_asked(admin_client_):
    # given an active customer and one merged into it
    record = SourceRecordFactory()
    merged = SourceRecordFactory().customer
    Customer.objects.filter(pk=merged.pk).update(status=Customer.Status.MERGED, merged_into=record.customer)
    url = reverse("admin:cdp_customer_changelist")
    # when the changelist is read, then with the filter's other choices
    default = admin_client_.get(url)
    merged_only = admin_client_.get(url, {"status": "merged"})
    everyone = admin_client_.get(url, {"status": "all"})
    # then the active customer alone is listed by default, and the filter shows the merged one
    assert list(default.context["cl"].result_list) == [record.customer]
    assert [c.pk for c in merged_only.context["cl"].result_list] == [merged.pk]
    assert {c.pk for c in everyone.context["cl"].result_list} == {record.customer.pk, merged.pk}


def test_import_batches_are_named_in_the_plural(admin_client_):
    assert "Import batches" in admin_client_.get(reverse("admin:index")).content.decode()
