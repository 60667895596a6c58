"""The 360° profile's reads: search keys and typo-tolerant search, the profile's figures, timeline, spend, panels."""

from __future__ import annotations

import datetime as dt

import pytest

from django.core.exceptions import ImproperlyConfigured

from cdp.models import Customer
from cdp.profile import panels, search, selectors, setup
from cdp.profile.search import (
    customer_search_key,
    customer_search_key_reversed,
    customers_refresh_search_keys,
    osa_distance,
    word_distance,
)
from cdp.profile.selectors import (
    CustomerMerged,
    CustomerNotFound,
    SearchQueryError,
    customer_profile,
    customer_search,
    customer_spend_by_month,
    customer_timeline,
)
from tests.cdp.factories import CustomerFactory
from tests.cdp.profile_data import CARD, CRM_ID, EMAIL, add_interactions, add_receipts, add_return, known_customer
from tests.consent.factories import ConsentEventFactory

pytestmark = pytest.mark.django_db

SEARCH_QUERIES = 5  # sources, identifiers, candidate keys, customers, customers without keys
PROFILE_QUERIES = 7  # customer, source records, identifiers, figures, categories, stores, channels


# ---------------------------------------------------------------------------------------------------------------------
# Keys


def test_search_key_is_accent_free_lower_case_last_name_first():
    assert customer_search_key("Élodie", "Laurent") == "laurent elodie"
    assert customer_search_key("Jean-Pierre", "DE LA FONTAINE") == "de la fontaine jean pierre"
    assert customer_search_key("", "") == ""
    assert customer_search_key_reversed("Jennifer", "Martin") == "nitram refinnej"


def test_refreshing_keys_fills_them_once():
    # given two customers whose keys were never computed, and one without a name
    first, second = CustomerFactory(first_name="Zoé", last_name="Müller"), CustomerFactory()
    nameless = CustomerFactory(first_name="", last_name="")
    assert Customer.objects.filter(search_name__isnull=True).count() == 3
    # when the keys are refreshed twice
    changed = customers_refresh_search_keys()
    again = customers_refresh_search_keys()
    # then every key is filled, the second run changes nothing
    assert (changed, again) == (3, 0)
    first.refresh_from_db()
    nameless.refresh_from_db()
    assert first.search_name == "muller zoe"
    assert first.search_name_reversed == "rellum eoz"
    assert nameless.search_name == ""
    assert Customer.objects.get(pk=second.pk).search_name == customer_search_key(second.first_name, second.last_name)


def test_refreshing_some_customers_leaves_the_others(monkeypatch):
    monkeypatch.setattr(search, "UPDATE_BATCH", 2)  # several batches
    customers = CustomerFactory.create_batch(5)
    assert customers_refresh_search_keys(customer_ids=[c.pk for c in customers[:3]]) == 3
    assert Customer.objects.filter(search_name__isnull=True).count() == 2


def test_osa_distance_counts_edits_and_transpositions():
    assert osa_distance("martin", "martin", 2) == 0
    assert osa_distance("matrin", "martin", 2) == 1
    assert osa_distance("nartin", "martin", 2) == 1
    assert osa_distance("martn", "martin", 2) == 1
    assert osa_distance("bernard", "martin", 2) == 3  # beyond the limit: limit + 1


def test_word_distance_prefers_exact_then_prefix_then_typo():
    assert word_distance("martin", "martin") == 0
    assert word_distance("mart", "martin") == 0.5
    assert word_distance("martni", "martin") == 1
    assert word_distance("rux", "roux") == 1
    assert word_distance("mo", "martin") is None  # words of two letters must be exact prefixes
    assert word_distance("bernard", "martin") is None


# ---------------------------------------------------------------------------------------------------------------------
# Search


@pytest.fixture
def people():
    """Jennifer Martin (the known customer), her namesakes and near namesakes, with keys computed."""
    customer = known_customer()
    others = {
        "martinez": CustomerFactory(first_name="Anne", last_name="Martinez"),
        "marie": CustomerFactory(first_name="Jennifer", last_name="Marie"),
        "laurent": CustomerFactory(first_name="Élodie", last_name="Laurent"),
        "fontaine": CustomerFactory(first_name="Jean", last_name="de la Fontaine"),
        "le roux": CustomerFactory(first_name="Joëlle", last_name="Le Roux"),
        "joly": CustomerFactory(first_name="Micheline", last_name="Joly"),
    }
    customers_refresh_search_keys()
    return {"martin": customer, **others}


@pytest.mark.parametrize(
    "query",
    [
        "Martin",
        "martin jennifer",
        "Jennifer Martin",
        "Jenifer Martin",  # a letter missing in the first name
        "Nartin",  # a typo at the start
        "Matrin",  # two letters swapped
        "Martni",  # a typo at the end
        "MARTIN Jennifre",
    ],
)
def test_search_by_name_finds_jennifer_martin_first(people, query, django_assert_max_num_queries):
    with django_assert_max_num_queries(SEARCH_QUERIES):
        hits = customer_search(query=query, limit=10)
    assert hits[0].id == people["martin"].pk
    assert hits[0].matched_on == "name"


def test_search_ranks_exact_before_prefix_and_typos(people):
    hits = customer_search(query="martin", limit=10)
    names = [hit.last_name for hit in hits]
    assert names[0] == "Martin"
    assert "Martinez" in names  # a prefix, after the exact name
    assert names.index("Martin") < names.index("Martinez")


def test_search_ignores_accents_and_finds_the_end_of_a_compound_name(people):
    assert customer_search(query="elodie laurent", limit=5)[0].id == people["laurent"].pk
    assert customer_search(query="Fontaine", limit=5)[0].id == people["fontaine"].pk
    assert customer_search(query="Joelle Le Rux", limit=5)[0].id == people["le roux"].pk
    assert customer_search(query="Micheline Jly", limit=5)[0].id == people["joly"].pk  # a short name with a typo


def test_search_finds_customers_whose_key_is_not_computed_yet(people):
    # given a customer created after the last refresh of the keys
    late = CustomerFactory(first_name="Gaëlle", last_name="Rousseau")
    assert Customer.objects.get(pk=late.pk).search_name is None
    # when searched by name with a typo, then it is found all the same
    hits = customer_search(query="Gaelle Rouseau", limit=5)
    assert [hit.id for hit in hits] == [late.pk]


@pytest.mark.parametrize(
    ("query", "matched_on"),
    [
        (EMAIL.upper(), "email"),
        ("06 12 34 56 78", "phone"),
        ("+33 6 12 34 56 78", "phone"),
        (CRM_ID, "external_id"),
        (f"crm:{CRM_ID}", "external_id"),
        (CARD, "external_id"),
    ],
)
def test_search_by_identifier_is_exact(people, query, matched_on, django_assert_max_num_queries):
    with django_assert_max_num_queries(SEARCH_QUERIES):
        hits = customer_search(query=query, limit=10)
    assert [(hit.id, hit.matched_on, hit.score) for hit in hits] == [(people["martin"].pk, matched_on, 0.0)]


def test_search_leads_to_the_survivor_of_a_merge(people):
    # given Jennifer Martin merged into another customer
    survivor = CustomerFactory(first_name="Jennifer", last_name="Martin-Durand")
    Customer.objects.filter(pk=people["martin"].pk).update(status=Customer.Status.MERGED, merged_into=survivor)
    # when searched by her e-mail, then the survivor is found; by name, the merged record is not listed
    assert [hit.id for hit in customer_search(query=EMAIL, limit=5)] == [survivor.pk]
    assert people["martin"].pk not in {hit.id for hit in customer_search(query="Jennifer Martin", limit=20)}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("a", selectors.QUERY_TOO_SHORT),
        ("   ", selectors.QUERY_TOO_SHORT),
        ("x" * 101, selectors.QUERY_TOO_LONG),
        ("jennifer@", "invalid e-mail address"),
    ],
)
def test_search_refuses_malformed_queries(query, message):
    with pytest.raises(SearchQueryError, match=str(message)):
        customer_search(query=query, limit=10)


def test_search_with_no_match_is_empty(people):
    assert customer_search(query="Zzyzx Qwerty", limit=10) == []


# ---------------------------------------------------------------------------------------------------------------------
# Profile


@pytest.fixture
def history():
    """Jennifer Martin with 6 purchases (4 in stores, 2 on the web), a return and 3 interactions."""
    customer = known_customer()
    receipts = add_receipts(customer, 6)
    returned = add_return(customer, receipts[-1].purchased_at + dt.timedelta(days=1))
    interactions = add_interactions(customer, 3)
    return {"customer": customer, "receipts": receipts, "return": returned, "interactions": interactions}


def test_profile_has_identity_with_sources_records_and_identifiers(history, django_assert_num_queries):
    customer = history["customer"]
    with django_assert_num_queries(PROFILE_QUERIES):
        profile = customer_profile(customer_id=customer.pk)
    identity = {item.name: item for item in profile.identity}
    assert identity["last_name"].value == "Martin"
    assert (identity["email"].source_key, identity["email"].source_name) == ("crm", "CRM")
    assert identity["phone"].source_name == "Loyalty"
    assert identity["city"].source_key == ""
    assert [(r.source_key, r.external_id) for r in profile.source_records] == [("crm", CRM_ID), ("loyalty", CARD)]
    kinds = {(i.kind, i.value): i.sources for i in profile.identifiers}
    assert kinds[("loyalty_card", CARD)] == ("loyalty",)
    assert kinds[("email", EMAIL)] == ("crm",)


def test_profile_key_figures_are_aggregated(history):
    figures = customer_profile(customer_id=history["customer"].pk).figures
    receipts = history["receipts"]
    assert (figures.receipts, figures.returns) == (6, 1)
    assert figures.first_purchase == receipts[0].purchased_at
    assert figures.last_purchase == receipts[-1].purchased_at  # the later return is not a purchase
    assert [(a.minor, a.currency) for a in figures.revenue] == [(6 * 2500 - 1500, "EUR")]
    assert figures.revenue[0].display == "€135.00"
    assert [a.minor for a in figures.average_basket] == [2500]
    assert [a.minor for a in figures.returned] == [1500]
    # Lines of purchases only: the returned rake does not count for the favourite category.
    assert [(f.label, f.count) for f in figures.categories] == [("Garden", 6), ("Premium food", 6)]
    assert [(f.label, f.count) for f in figures.stores] == [("Lyon 2", 2), ("Paris 11", 2)]  # a tie: by name
    assert [(f.label, f.count) for f in figures.channels] == [("Store", 4), ("Web", 2)]  # labels, not keys


def test_profile_of_a_customer_without_history_is_empty_not_an_error():
    figures = customer_profile(customer_id=CustomerFactory().pk).figures
    assert (figures.receipts, figures.revenue, figures.first_purchase, figures.categories) == (0, (), None, ())


def test_profile_of_a_merged_customer_names_the_survivor():
    survivor = CustomerFactory()
    middle = CustomerFactory()
    merged = CustomerFactory()
    Customer.objects.filter(pk=middle.pk).update(status=Customer.Status.MERGED, merged_into=survivor)
    Customer.objects.filter(pk=merged.pk).update(status=Customer.Status.MERGED, merged_into=middle)
    with pytest.raises(CustomerMerged) as raised:
        customer_profile(customer_id=merged.pk)
    assert raised.value.survivor_id == survivor.pk


@pytest.mark.parametrize("customer_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
def test_profile_of_an_unknown_id_is_not_found(customer_id):
    with pytest.raises(CustomerNotFound):
        customer_profile(customer_id=customer_id)


# ---------------------------------------------------------------------------------------------------------------------
# Timeline and spend


def test_timeline_is_newest_first_and_paginated(history, django_assert_num_queries):
    customer = history["customer"]
    # 6 purchases + 1 return + 3 interactions = 10 entries: pages of 4
    with django_assert_num_queries(3):
        first = customer_timeline(customer_id=customer.pk, page=1, per_page=4)
    third = customer_timeline(customer_id=customer.pk, page=3, per_page=4)
    assert [entry.kind for entry in first.entries][:2] == ["receipt", "receipt"]
    assert first.entries[0].is_return
    assert first.entries[0].details == ("-1 × Rake",)
    assert first.entries[1].details == ("1 × Rake", "1 × Coffee")
    assert first.has_next
    assert not first.has_previous
    assert len(third.entries) == 2
    assert not third.has_next
    every = [e for page in (1, 2, 3) for e in customer_timeline(customer_id=customer.pk, page=page, per_page=4).entries]
    assert [e.at for e in every] == sorted((e.at for e in every), reverse=True)
    assert len(every) == 10
    assert third.entries[-1].at == history["receipts"][0].purchased_at
    opened = [e for e in every if e.kind == "interaction"]
    assert [(e.label, e.place, e.details) for e in opened[:1]] == [
        ("Email open", "E-mail", ("campaign: newsletter-2",))
    ]


def test_spend_by_month_is_net_and_fills_empty_months(history, django_assert_num_queries):
    with django_assert_num_queries(1):
        spend = customer_spend_by_month(customer_id=history["customer"].pk, months=4, until=dt.date(2026, 5, 15))
    months = [(m.month, m.amount.minor) for m in spend.months]
    # purchases on 2 Mar, 9, 16, 23, 30 Mar and 6 Apr (25.00 € each); the rake returned on 7 Apr (-15.00 €)
    assert months == [
        (dt.date(2026, 2, 1), 0),
        (dt.date(2026, 3, 1), 5 * 2500),
        (dt.date(2026, 4, 1), 2500 - 1500),
        (dt.date(2026, 5, 1), 0),
    ]
    assert (spend.currency, spend.other_currencies) == ("EUR", ())


# ---------------------------------------------------------------------------------------------------------------------
# Panels


def test_panels_come_in_order_and_a_later_app_replaces_a_slot(monkeypatch):
    # given cdp's own panels and placeholders only (the later apps of this project not started)
    monkeypatch.setattr(panels, "_PANELS", {})
    monkeypatch.setattr(panels, "_PLACEHOLDERS", {})
    setup.register()
    keys = [panel.key for panel in panels.profile_panels()]
    assert keys == ["consents", "segment", "churn_risk", "lifetime_value", "next_best_products", "life_moments"]
    # when an app registers its own "segment" panel
    panels.register_profile_panel(
        key="segment", title="Segment", order=20, template="x.html", context=lambda c: {"name": "Gardeners"}
    )
    rendered = {panel.key: panel for panel in panels.panels_render(CustomerFactory())}
    assert rendered["segment"].context == {"name": "Gardeners"}
    assert "segment" not in panels.panels_api(CustomerFactory())  # this one has no API side


def test_a_real_panel_wins_over_the_placeholder_whatever_the_app_order(monkeypatch):
    # given an app that starts before cdp and registers its churn-risk panel first
    monkeypatch.setattr(panels, "_PANELS", {})
    monkeypatch.setattr(panels, "_PLACEHOLDERS", {})
    panels.register_profile_panel(
        key="churn_risk", title="Churn", order=30, template="segments/churn.html", context=lambda c: {"risk": 0.2}
    )
    # when cdp then holds its slots with placeholders
    setup.register()
    # then the real panel is shown, and the other slots keep their placeholders
    shown = {panel.key: panel.template for panel in panels.profile_panels()}
    assert shown["churn_risk"] == "segments/churn.html"
    assert shown["segment"] == setup.PLACEHOLDER_TEMPLATE


def test_two_apps_registering_one_key_is_an_error(monkeypatch):
    monkeypatch.setattr(panels, "_PANELS", {})

    def first(customer) -> dict:
        return {}

    def second(customer) -> dict:
        return {}

    # as if the segments app and the campaigns app each registered a panel of their own
    first.__module__, second.__module__ = "segments.panels", "campaigns.panels"
    panels.register_profile_panel(key="segment", title="S", order=20, template="a.html", context=first)
    panels.register_profile_panel(key="segment", title="S", order=20, template="a.html", context=first)  # again: ok
    with pytest.raises(ImproperlyConfigured, match="two apps"):
        panels.register_profile_panel(key="segment", title="S", order=20, template="b.html", context=second)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"key": "Bad Key", "context": dict, "template": "x.html"},
        {"key": "ok", "context": "not callable", "template": "x.html"},
        {"key": "ok", "context": dict, "template": "x.txt"},
    ],
)
def test_panels_are_checked_at_the_door(monkeypatch, kwargs):
    monkeypatch.setattr(panels, "_PANELS", {})
    with pytest.raises(ImproperlyConfigured):
        panels.register_profile_panel(title="T", order=1, **kwargs)


def test_consents_panel_shows_the_current_state(monkeypatch):
    # given a grant then a withdrawal for e-mail marketing, and an analytics grant
    customer = CustomerFactory()
    ConsentEventFactory(customer=customer, occurred_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    ConsentEventFactory(customer=customer, status="withdrawn", occurred_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    ConsentEventFactory(customer=customer, purpose_key="analytics", channel_key=None)
    # when the panel is rendered
    panel = next(p for p in panels.panels_render(customer) if p.key == "consents")
    rows = [(row.purpose, row.channel, row.granted) for row in panel.context["consents"]]
    api = panels.panels_api(customer)["consents"]["consents"]
    # then each (purpose, channel) shows its latest event
    assert rows == [("analytics", "", True), ("email_marketing", "email", False)]
    assert api[1]["status"] == "withdrawn"
    assert api[0]["channel"] is None


def test_consents_panel_says_none_when_the_consent_app_has_no_selector(monkeypatch):
    from consent import selectors as consent_selectors

    monkeypatch.setattr(panels, "_PANELS", dict(panels._PANELS))
    monkeypatch.delattr(consent_selectors, "consent_current_state")
    setup.register_consents_panel()
    customer = CustomerFactory()
    ConsentEventFactory(customer=customer)
    panel = next(p for p in panels.panels_render(customer) if p.key == "consents")
    assert (panel.context["consents"], panel.context["customer_id"]) == ([], customer.pk)
    assert panels.panels_api(customer)["consents"] == {"consents": []}


def test_consents_panel_shows_the_ledger_history_newest_first():
    customer = CustomerFactory()
    old = ConsentEventFactory(customer=customer, status="granted", occurred_at=dt.datetime(2022, 1, 1, tzinfo=dt.UTC))
    new = ConsentEventFactory(customer=customer, status="withdrawn", occurred_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    ConsentEventFactory()  # another customer's
    panel = next(p for p in panels.panels_render(customer) if p.key == "consents")
    history = panel.context["history"]
    expected = [(new.occurred_at, "withdrawn"), (old.occurred_at, "granted")]
    assert [(event.occurred_at, event.status) for event in history] == expected
    assert panel.context["older_history"] is False
    assert not history[0].granted


def test_timeline_pages_stop_at_a_bounded_depth(history):
    # a page far beyond the history reads a bounded number of rows, and is empty
    page = customer_timeline(customer_id=history["customer"].pk, page=10**9, per_page=20)
    assert page.page == selectors.MAX_TIMELINE_DEPTH // 20
    assert page.entries == ()
    assert not page.has_next
