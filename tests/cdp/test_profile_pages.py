"""The customer search and 360° profile pages: who may read them, what they show, and a fixed number of queries."""

from __future__ import annotations

import re

import pytest

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from cdp.models import Customer
from cdp.profile.search import customers_refresh_search_keys
from tests.cdp.factories import CustomerFactory
from tests.cdp.profile_data import add_interactions, add_receipts, add_return, known_customer

pytestmark = pytest.mark.django_db

# Session, user, the user's permissions (2), then the selectors: customer, source records, identifiers, figures,
# 3 favourites, timeline (receipts, interactions, their lines), spend by month, the consents panel and its history,
# the restriction.
PROFILE_PAGE_QUERIES = 21  # with the segment panel's run and the score panels' two (see test_api_customers)
SEARCH_PAGE_QUERIES = 9  # session, user, permissions (2), then the search's five


def login_as(client, role: str):
    """A user of the role, logged in; without a password, since hashing one costs half a second."""
    user = get_user_model().objects.create(username=role, is_staff=role != "sales")
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return client


@pytest.fixture
def crm_client(client):
    return login_as(client, "crm")


def profile_url(customer: Customer, **params) -> str:
    url = reverse("customers:profile", kwargs={"customer_id": customer.pk})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


@pytest.fixture
def customer():
    customer = known_customer()
    receipts = add_receipts(customer, 3)
    add_return(customer, receipts[-1].purchased_at.replace(hour=18))
    add_interactions(customer, 2)
    customers_refresh_search_keys()
    return customer


@pytest.mark.parametrize("name", ["search", "profile"])
def test_anonymous_users_go_to_the_login_page(client, customer, name):
    url = reverse("customers:search") if name == "search" else profile_url(customer)
    response = client.get(url)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize(("role", "status"), [("crm", 200), ("marketing", 200), ("dpo", 200), ("sales", 403)])
def test_profiles_are_for_crm_marketing_and_dpo_not_sales(client, customer, role, status):
    login_as(client, role)
    for url in (reverse("customers:search") + "?q=martin", profile_url(customer)):
        response = client.get(url)
        assert response.status_code == status
    if status == 403:
        assert b"You do not have permission" in response.content


@pytest.mark.parametrize(("role", "shown"), [("crm", True), ("sales", False)])
def test_the_navigation_links_to_customers_for_those_who_may_read_them(client, role, shown):
    login_as(client, role)
    body = client.get("/").content.decode()
    assert (f'href="{reverse("customers:search")}"' in body) is shown


def test_search_page_lists_matches_with_links(crm_client, customer, django_assert_max_num_queries):
    with django_assert_max_num_queries(SEARCH_PAGE_QUERIES):
        response = crm_client.get(reverse("customers:search"), {"q": "jenifer martin"})
    body = response.content.decode()
    assert response.context["hits"][0].id == customer.pk
    assert profile_url(customer) in body
    assert "1 customer found" in body


def test_search_page_shows_what_is_wrong_with_a_query(crm_client):
    response = crm_client.get(reverse("customers:search"), {"q": "a"})
    assert response.status_code == 200
    assert response.context["hits"] is None
    assert response.context["form"].errors["q"]
    response = crm_client.get(reverse("customers:search"), {"q": "someone@"})
    assert "invalid e-mail address" in response.content.decode()


def test_search_page_without_a_query_shows_the_form(crm_client):
    response = crm_client.get(reverse("customers:search"))
    assert response.status_code == 200
    assert response.context["hits"] is None
    assert b'name="q"' in response.content


def test_profile_page_shows_the_360_view(crm_client, customer):
    response = crm_client.get(profile_url(customer))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Jennifer Martin" in body
    assert re.search(r'data-figure="receipts">\s*<span class="value">3<', body)
    assert "€60.00" in body  # revenue net of the returned rake: 3 × 25.00 − 15.00
    assert "Paris 11" in body
    assert "Garden" in body
    assert body.count('class="timeline-entry') == 6  # 3 purchases, 1 return, 2 e-mails opened
    assert '<svg class="spend-chart"' in body
    assert 'data-panel="consents"' in body
    assert "None recorded." in body
    assert body.count("Not computed yet.") == 6  # segment, churn, value, next purchase, next best products, moments
    assert "style=" not in body


def test_profile_page_queries_do_not_grow_with_the_history(crm_client, customer, django_assert_num_queries):
    # given a small history, read once: the whole page, panels included, in exactly PROFILE_PAGE_QUERIES queries
    with django_assert_num_queries(PROFILE_PAGE_QUERIES) as small:
        crm_client.get(profile_url(customer))
    # when the customer has many more receipts and interactions
    add_receipts(customer, 40)
    add_interactions(customer, 60)
    with django_assert_num_queries(PROFILE_PAGE_QUERIES) as large:
        response = crm_client.get(profile_url(customer))
    # then the page runs the same queries
    assert len(large.captured_queries) == len(small.captured_queries)
    assert response.context["timeline"].has_next


def test_profile_timeline_pages_go_back_in_time(crm_client, customer):
    add_interactions(customer, 30)
    first = crm_client.get(profile_url(customer)).context["timeline"]
    second = crm_client.get(profile_url(customer, page=2)).context["timeline"]
    assert first.entries[-1].at >= second.entries[0].at
    assert second.has_previous
    assert crm_client.get(profile_url(customer, page="junk")).context["timeline"].page == 1


def test_profile_of_a_merged_customer_redirects_to_the_survivor(crm_client, customer):
    survivor = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.MERGED, merged_into=survivor)
    response = crm_client.get(profile_url(customer))
    assert response.status_code == 302
    assert response["Location"] == profile_url(survivor)


def test_profile_of_an_unknown_customer_is_a_404(crm_client, settings):
    settings.DEBUG = False
    response = crm_client.get("/customers/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404


def test_the_profile_reads_in_words_and_one_date_format(crm_client, customer):
    import datetime as dt

    from consent.models import Channel, Purpose
    from tests.consent.factories import ConsentEventFactory

    # given a birth date and a consent to e-mail marketing by e-mail
    Customer.objects.filter(pk=customer.pk).update(birth_date=dt.date(1984, 3, 7))
    ConsentEventFactory(
        customer=customer,
        purpose=Purpose.objects.get(key="email_marketing"),
        channel=Channel.objects.get(key="email"),
        status="granted",
    )
    # when the profile is read in English
    body = crm_client.get(profile_url(customer)).content.decode()
    consents = body[body.index('class="consents"') :]
    # then the consent table names the purpose and the channel, never their keys
    assert "E-mail marketing" in consents
    assert ">email_marketing<" not in consents
    assert "<td>E-mail</td>" in consents
    # and the birth date reads in the one date format, not as ISO
    assert "7 Mar 1984" in body
    assert "1984-03-07" not in body
    # and the spend chart says its year and the amounts of its axis
    chart = body[body.index('<svg class="spend-chart"') : body.index("</svg>")]
    assert re.search(r'class="year"[^>]*>20\d\d<', chart)
    assert re.search(r'class="value"[^>]*>€0<', chart)
    assert len(re.findall(r'class="value"', chart)) == 3
