"""GET /api/v1/customers/ (search, paginated) and /api/v1/customers/{id}/ (the 360° profile as JSON)."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from cdp.api import customers as api
from cdp.models import Customer
from cdp.profile.search import customers_refresh_search_keys
from tests.cdp.factories import CustomerFactory, SourceFactory, SourceRecordFactory
from tests.cdp.profile_data import CARD, EMAIL, add_interactions, add_receipts, add_return, known_customer

pytestmark = pytest.mark.django_db

# The user's permissions (2), then the search: sources, identifiers, candidate keys, customers, customers without keys.
LIST_QUERIES = 7
# The user's permissions (2), then the profile (7), timeline (3), spend by month (1), the consents panel (1) and the
# segment panel's segmentation run (1; with a run, the customer's processing check and membership: 2 more), the score
# panels' (2, shared by churn risk and lifetime value: the customer's active scores, the latest model versions).
DETAIL_QUERIES = 17


def client_as(role: str | None) -> APIClient:
    client = APIClient()
    if role:
        # No password: hashing one costs half a second.
        user = get_user_model().objects.create(username=role)
        user.groups.add(Group.objects.get(name=role))
        client.force_authenticate(user)
    return client


@pytest.fixture
def crm():
    return client_as("crm")


@pytest.fixture
def customer():
    customer = known_customer()
    receipts = add_receipts(customer, 4)
    add_return(customer, receipts[-1].purchased_at.replace(hour=19))
    add_interactions(customer, 2)
    customers_refresh_search_keys()
    return customer


def detail_url(customer_id) -> str:
    return f"/api/v1/customers/{customer_id}/"


@pytest.mark.parametrize(
    ("role", "status"), [(None, 401), ("sales", 403), ("crm", 200), ("marketing", 200), ("dpo", 200)]
)
def test_profiles_need_crm_or_above(customer, role, status):
    client = client_as(role)
    assert client.get("/api/v1/customers/", {"search": "martin"}).status_code == status
    assert client.get(detail_url(customer.pk)).status_code == status


def test_without_credentials_the_answer_is_401_with_a_challenge(customer):
    # given a client with no session and no token
    client = APIClient()
    # when it reads the customers
    response = client.get("/api/v1/customers/")
    # then it is told to authenticate, and how, as DRF does for token authentication
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_search_is_drfs_parameter_and_q_its_alias(crm, customer):
    # given Jennifer Martin; when she is searched with a typo under either name
    for parameter in ("search", "q"):
        response = crm.get("/api/v1/customers/", {parameter: "Jenifer Martin"})
        # then she is found
        assert response.status_code == 200
        assert [hit["id"] for hit in response.json()["results"]] == [str(customer.pk)]


def test_without_a_query_the_list_is_a_page_of_active_customers(crm, customer, monkeypatch):
    # given four more customers, one of them merged away
    monkeypatch.setattr(api.CustomerListApi.pagination_class, "page_size", 2)
    others = CustomerFactory.create_batch(4, last_name="Zola")
    Customer.objects.filter(pk=others[0].pk).update(status=Customer.Status.MERGED, merged_into=customer)
    # when the list is read without a query
    first = crm.get("/api/v1/customers/").json()
    last = crm.get("/api/v1/customers/", {"page": 2}).json()
    # then it pages through the four active ones by name, with no match information
    assert first["count"] == 4
    assert [hit["last_name"] for hit in first["results"] + last["results"]] == ["Martin", "Zola", "Zola", "Zola"]
    assert first["results"][0]["matched_on"] is None
    assert first["results"][0]["score"] is None
    assert str(others[0].pk) not in {hit["id"] for hit in first["results"] + last["results"]}


def test_the_list_is_filtered_by_source_and_last_update(crm, customer):
    # given Jennifer Martin (crm and loyalty records) and a customer of the e-shop updated later
    other = CustomerFactory(last_name="Zola")
    SourceRecordFactory(source=SourceFactory(key="eshop"), customer=other)
    later = customer.updated_at + dt.timedelta(days=1)
    Customer.objects.filter(pk=other.pk).update(updated_at=later)
    # when the list is narrowed
    by_source = crm.get("/api/v1/customers/", {"source": "eshop"}).json()["results"]
    by_update = crm.get("/api/v1/customers/", {"updated_since": later.isoformat()}).json()["results"]
    searched = crm.get("/api/v1/customers/", {"search": "martin", "source": "eshop"}).json()["results"]
    # then only the customers that match are listed, searched or not
    assert [hit["id"] for hit in by_source] == [str(other.pk)]
    assert [hit["id"] for hit in by_update] == [str(other.pk)]
    assert searched == []


def test_search_answers_a_page_of_matches(crm, customer, django_assert_max_num_queries):
    with django_assert_max_num_queries(LIST_QUERIES):
        response = crm.get("/api/v1/customers/", {"q": "Jenifer Martin"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["next"] is None
    hit = body["results"][0]
    assert (hit["id"], hit["name"], hit["matched_on"], hit["score"]) == (
        str(customer.pk),
        "Jennifer Martin",
        "name",
        1.0,
    )


def test_search_by_identifier(crm, customer):
    for query, matched_on in ((EMAIL, "email"), (CARD, "external_id"), ("0612345678", "phone")):
        results = crm.get("/api/v1/customers/", {"q": query}).json()["results"]
        assert [(r["id"], r["matched_on"]) for r in results] == [(str(customer.pk), matched_on)]


def test_search_is_paginated(crm, monkeypatch):
    monkeypatch.setattr(api.CustomerListApi.pagination_class, "page_size", 2)
    CustomerFactory.create_batch(5, last_name="Dupont")
    customers_refresh_search_keys()
    first = crm.get("/api/v1/customers/", {"q": "dupont"}).json()
    last = crm.get("/api/v1/customers/", {"q": "dupont", "page": 3}).json()
    assert (first["count"], len(first["results"]), len(last["results"])) == (5, 2, 1)
    assert "page=2" in first["next"]
    assert last["next"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"search": "a"}, "search"),
        ({"search": "nobody@"}, "search"),
        ({"search": "martin", "q": "dupont"}, "q"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"q": "a"}, "q"),
        ({"q": "x" * 101}, "q"),
        ({"q": "nobody@"}, "q"),
        ({"q": "martin", "page": 0}, "page"),
    ],
)
def test_malformed_searches_are_400(crm, params, field):
    response = crm.get("/api/v1/customers/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_profile_json_is_the_360_view(crm, customer, django_assert_max_num_queries):
    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = crm.get(detail_url(customer.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(customer.pk)
    identity = {item["name"]: item for item in body["identity"]}
    assert (identity["email"]["value"], identity["email"]["source_key"]) == (EMAIL, "crm")
    assert [record["source_key"] for record in body["source_records"]] == ["crm", "loyalty"]
    assert {"kind": "loyalty_card", "value": CARD, "sources": ["loyalty"]} in body["identifiers"]
    figures = body["figures"]
    assert (figures["receipts"], figures["returns"]) == (4, 1)
    assert figures["revenue"] == [{"minor": 8500, "currency": "EUR", "amount": "85.00", "display": "€85.00"}]
    assert figures["categories"][0] == {"label": "Garden", "count": 4}
    timeline = body["timeline"]
    assert (timeline["page"], timeline["has_next"], len(timeline["entries"])) == (1, False, 7)
    assert timeline["entries"][0]["is_return"] is True
    assert len(body["spend_by_month"]["months"]) == 12
    assert body["panels"]["consents"] == {"consents": []}
    assert body["panels"]["churn_risk"] == {"status": "not_computed"}


def test_profile_json_queries_do_not_grow_with_the_history(crm, customer, django_assert_max_num_queries):
    crm.get(detail_url(customer.pk))  # the forced user keeps its permissions from now on
    with django_assert_max_num_queries(DETAIL_QUERIES) as small:
        crm.get(detail_url(customer.pk))
    add_receipts(customer, 30)
    add_interactions(customer, 30)
    with django_assert_max_num_queries(DETAIL_QUERIES) as large:
        assert crm.get(detail_url(customer.pk)).json()["timeline"]["has_next"] is True
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.parametrize("customer_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
def test_unknown_customer_is_a_json_404(crm, customer_id):
    response = crm.get(detail_url(customer_id))
    assert response.status_code == 404
    assert response.json() == {"detail": api.CUSTOMER_NOT_FOUND}


def test_merged_customer_redirects_to_the_survivor(crm, customer):
    survivor = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.MERGED, merged_into=survivor)
    response = crm.get(detail_url(customer.pk))
    assert response.status_code == 302
    assert response["Location"] == detail_url(survivor.pk)
    assert crm.get(response["Location"]).json()["id"] == str(survivor.pk)


def test_schema_documents_both_endpoints(crm):
    schema = crm.get("/api/schema/").content.decode()
    assert "/api/v1/customers/{customer_id}/" in schema
    for component in ("PaginatedCustomerListOutputList", "CustomerDetailOutput", "ProfileFigures"):
        assert f"{component}:" in schema
