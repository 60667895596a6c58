"""Production defences on every answer: a strict Content-Security-Policy (the product loads nothing from elsewhere),
and `Cache-Control: no-store` wherever personal data may be (profile, search, the customer API, the preference page
and the letter that carries its link)."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from django.test import Client
from django.urls import reverse

from consent.services.preferences import preference_link_mint
from tests.cdp.factories import SourceRecordFactory

pytestmark = pytest.mark.django_db


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.fixture
def customer():
    return SourceRecordFactory(
        customer__first_name="Audrey", customer__address="4 rue Nationale", customer__city="Lille"
    ).customer


@pytest.fixture
def crm(client, role_users):
    client.force_login(role_users["crm"])
    return client


@pytest.fixture
def pages(crm, customer, role_users) -> dict:
    """The answers that carry a customer's data, each as a person or an integration gets it."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=role_users['crm']).key}")
    preference_page = preference_link_mint(customer=customer)
    return {
        "profile": crm.get(reverse("customers:profile", args=[customer.pk])),
        "search": crm.get(reverse("customers:search"), {"q": "Audrey"}),
        "letter": crm.post(reverse("consent:preference_link", args=[customer.pk]), {"delivery": "post"}),
        "customer API": api.get(reverse("api:customer-detail", args=[customer.pk])),
        "search API": api.get(reverse("api:customer-list"), {"q": "Audrey"}),
        "preference page": APIClient().get(preference_page[preference_page.index("/privacy/") :]),
        "home": crm.get("/"),
        "admin": crm.get("/admin/"),
    }


def test_answers_with_personal_data_are_never_stored(pages):
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert "no-store" in response["Cache-Control"], name


def test_every_answer_has_a_strict_content_security_policy(pages):
    anonymous = Client()
    others = {"login": anonymous.get(reverse("login")), "API error": anonymous.get("/api/v1/x/")}
    for name, response in {**pages, **others}.items():
        policy = directives(response["Content-Security-Policy"])
        assert policy["default-src"] == ["'none'"], name
        for directive in ("script-src", "style-src", "connect-src", "font-src", "form-action"):
            assert policy[directive] == ["'self'"], (name, directive)
        assert policy["img-src"] == ["'self'", "data:"], name
        assert policy["frame-ancestors"] == ["'none'"], name
        assert policy["object-src"] == ["'none'"], name
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]
        assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def test_pages_hold_no_inline_script_or_style(pages):
    for name in ("profile", "search", "letter", "preference page", "home"):
        body = pages[name].content.decode()
        assert "<script" not in body, name
        assert "style=" not in body, name
        assert "<style" not in body, name
