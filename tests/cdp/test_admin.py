"""The admin lists every model of the product, with bounded counts and no N+1 on the big tables."""

from __future__ import annotations

import pytest

from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cdp.admin import BoundedCountPaginator
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


def test_paginator_never_counts_past_its_limit(admin_client_, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "COUNT_LIMIT", 5)
    ReceiptLineFactory.create_batch(8)
    response = admin_client_.get(reverse("admin:cdp_receiptline_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].paginator.count == 5
    with CaptureQueriesContext(connection) as captured:
        admin_client_.get(reverse("admin:cdp_receiptline_changelist"))
    counts = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]
    assert counts, "the changelist counts its rows"
    assert all("LIMIT 5" in sql.upper() for sql in counts)
