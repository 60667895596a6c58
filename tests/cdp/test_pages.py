"""Every page needs a login; the API answers 401/403 itself; the home page shows the counts."""

from __future__ import annotations

import pytest

from django.urls import reverse

from tests.cdp.factories import CustomerFactory, InteractionFactory, ReceiptLineFactory
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/", "/admin/", "/api/docs/"])
def test_pages_redirect_anonymous_users_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("url", ["/api/v1/me/", "/api/schema/"])
def test_api_answers_anonymous_clients_without_redirect(client, url):
    response = client.get(url)
    assert response.status_code in {401, 403}
    assert "Location" not in response


def test_health_check_is_open_and_says_nothing_else(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("role", ["crm", "marketing", "sales", "dpo"])
def test_each_role_logs_in_and_reaches_home(client, role_users, role):
    response = client.post(reverse("login"), {"username": role, "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.context["user"].username == role
    assert response.request["PATH_INFO"] == "/"


def test_wrong_password_is_refused(client, role_users):
    response = client.post(reverse("login"), {"username": "crm", "password": "wrong"})
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated
    assert "didn't match" in response.content.decode()


def test_home_shows_counts(crm_client, django_assert_max_num_queries):
    # given two customers, one with a receipt of two lines, and three interactions
    line = ReceiptLineFactory()
    ReceiptLineFactory(receipt=line.receipt)
    CustomerFactory()
    InteractionFactory.create_batch(3, customer=line.receipt.customer)
    # when the home page is read
    # (the counts, the session and user, and the sections later apps add: campaigns' briefs; PostgreSQL's count
    # estimate is one more than SQLite's exact count)
    with django_assert_max_num_queries(11):
        response = crm_client.get("/")
    # then the figures are the database's
    figures = {count.key: count.value for count in response.context["counts"]}
    assert figures["customers"] == 2
    assert figures["receipts"] == 1
    assert figures["receipt-lines"] == 2
    assert figures["interactions"] == 3


@pytest.mark.parametrize("role", ["crm", "marketing", "dpo"])
def test_no_two_links_of_the_home_page_share_a_label(client, role_users, role):
    import re

    # given a signed-in user of a role that works in the admin too
    client.force_login(role_users[role])
    # when the home page is read
    body = client.get("/").content.decode()
    # then every link (navigation bar included) is named for what it opens: one label, one address
    links = re.findall(r'<a [^>]*href="([^"]+)"[^>]*>([^<]+)</a>', body)
    targets: dict[str, set[str]] = {}
    for href, label in links:
        targets.setdefault(" ".join(label.split()), set()).add(href)
    assert all(len(hrefs) == 1 for hrefs in targets.values()), targets


def test_sales_land_on_a_home_that_says_their_briefs_will_be_there(client, role_users):
    # given a sales rep, before any campaign exists
    client.force_login(role_users["sales"])
    # when they land on the home page
    body = client.get("/").content.decode()
    # then it says what they will find there, and offers nothing they cannot open
    assert 'id="briefs"' in body
    assert "No campaign has been launched yet" in body
    assert "API documentation" not in body
    assert "data-figure" not in body


def test_api_me_lists_roles_with_a_token(role_users):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    token = Token.objects.create(user=role_users["dpo"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json() == {"username": "dpo", "roles": ["dpo"]}


def test_api_docs_are_served_locally(crm_client):
    response = crm_client.get("/api/docs/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "swagger-ui" in body
    assert "cdn" not in body.lower()
    schema = crm_client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/me/" in schema.content


def test_unknown_page_is_a_friendly_404(crm_client, settings):
    settings.DEBUG = False
    response = crm_client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"This page does not exist" in response.content


def test_big_tables_show_the_planner_estimate_on_postgresql(monkeypatch):
    from django.db import connection

    from cdp import selectors

    if connection.vendor != "postgresql":
        pytest.skip("row estimates come from PostgreSQL's statistics")
    # given five analysed receipts and a limit below them
    ReceiptLineFactory.create_batch(5)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cdp_receipt")
    monkeypatch.setattr(selectors, "EXACT_COUNT_LIMIT", 1)
    # when the dashboard counts them
    figures = {count.key: count for count in selectors.dashboard_counts()}
    # then the big table is estimated, the filtered customers are counted exactly
    assert figures["receipts"].estimated
    assert figures["receipts"].value == 5
    assert not figures["customers"].estimated


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_page_is_the_products_own_404_even_with_debug(crm_client, settings, debug):
    # given DEBUG on (make run) or off
    settings.DEBUG = debug
    # when a signed-in user opens a page that does not exist, or a customer that does not
    for url in ("/no-such-page/", "/customers/00000000-0000-0000-0000-000000000000/"):
        response = crm_client.get(url)
        # then the product's page answers: no URL list, no settings
        body = response.content.decode()
        assert response.status_code == 404
        assert "This page does not exist." in body
        assert "URLconf" not in body
        assert "DEBUG = True" not in body


@pytest.mark.parametrize("debug", [False, True])
def test_a_crash_is_the_products_own_500_even_with_debug(client, role_users, settings, monkeypatch, debug, caplog):
    # given DEBUG on or off, and a home page whose figures cannot be read
    settings.DEBUG = debug

    def broken():
        raise RuntimeError("the database went away")

    monkeypatch.setattr("cdp.views.dashboard_counts", broken)
    client.force_login(role_users["crm"])
    client.raise_request_exception = False
    # when the home page is opened
    response = client.get("/")
    # then the product's 500 page answers, and the traceback is in the log only
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    assert "the database went away" not in body
    assert "the database went away" in caplog.text
