"""Golden records: survivorship by agreement, search keys kept in step, "known since", unmerge from the admin."""

from __future__ import annotations

import datetime as dt

import pytest

from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from cdp.admin import UNMERGE_NOT_MERGED, UNMERGED
from cdp.identity import customers_refresh_golden, golden_values
from cdp.identity.services import REASON_REQUIRED, customer_merge
from cdp.models import Customer, MergeEvent, SourceRecord
from cdp.profile.selectors import customer_profile, customer_search
from cdp.roles import ROLES
from tests.cdp.factories import CustomerFactory, SourceFactory, SourceRecordFactory

pytestmark = pytest.mark.django_db


def record(source, external_id: str, *, days_ago: int = 0, **values) -> SourceRecord:
    return SourceRecord(
        source=source, external_id=external_id, updated_at=timezone.now() - dt.timedelta(days=days_ago), **values
    )


# --- survivorship ----------------------------------------------------------------------------------------------------


def test_the_value_most_sources_agree_on_wins_over_a_typo_of_the_best_source():
    # given the CRM (best priority) with a typo, and the e-shop and loyalty agreeing once case is ignored
    crm = SourceFactory(key="crm", priority=10)
    eshop = SourceFactory(key="eshop", priority=20)
    loyalty = SourceFactory(key="loyalty", priority=30)
    records = [
        record(crm, "C1", first_name="Anne", last_name="Bnnet"),
        record(eshop, "W1", first_name="Anne", last_name="Bonnet"),
        record(loyalty, "L1", first_name="ANNE", last_name="BONNET"),
    ]
    # when the golden values are chosen
    values, origins = golden_values(records)
    # then "Bonnet" wins, written as the best-ranked source of the majority wrote it, and says where it came from
    assert (values["last_name"], origins["last_name"]) == ("Bonnet", "eshop")
    assert (values["first_name"], origins["first_name"]) == ("Anne", "crm")  # all agree: the best source's spelling


def test_one_source_twice_does_not_outvote_two_sources():
    crm = SourceFactory(key="crm", priority=10)
    loyalty = SourceFactory(key="loyalty", priority=30)
    eshop = SourceFactory(key="eshop", priority=20)
    records = [
        record(loyalty, "L1", email="old@example.org"),
        record(loyalty, "L2", email="old@example.org"),
        record(crm, "C1", email="new@example.org"),
        record(eshop, "W1", email="NEW@example.org"),
    ]
    values, origins = golden_values(records)
    assert (values["email"], origins["email"]) == ("new@example.org", "crm")


def test_on_a_tie_source_priority_then_recency_decide():
    crm = SourceFactory(key="crm", priority=10)
    loyalty = SourceFactory(key="loyalty", priority=30)
    values, origins = golden_values(
        [record(loyalty, "L1", phone="+33611111111"), record(crm, "C1", phone="+33622222222", days_ago=400)]
    )
    assert (values["phone"], origins["phone"]) == ("+33622222222", "crm")
    values, _ = golden_values(
        [record(loyalty, "L1", phone="+33611111111", days_ago=30), record(loyalty, "L2", phone="+33633333333")]
    )
    assert values["phone"] == "+33633333333"


def test_an_address_is_taken_whole_from_one_record():
    # given two sources at the new address (written differently) and the best source at the old one
    crm = SourceFactory(key="crm", priority=10)
    eshop = SourceFactory(key="eshop", priority=20)
    loyalty = SourceFactory(key="loyalty", priority=30)
    old = {"address": "3 rue Haute", "postcode": "69003", "city": "Lyon"}
    records = [
        record(crm, "C1", **old),
        record(eshop, "W1", address="12 avenue de la Gare", postcode="33000", city="Bordeaux"),
        record(loyalty, "L1", address="12 AV. DE LA GARE", postcode="33000", city="BORDEAUX", country="FR"),
    ]
    values, origins = golden_values(records)
    # then street, postcode and city come together from the best record of the majority: never a mix
    assert (values["address"], values["postcode"], values["city"]) == ("12 avenue de la Gare", "33000", "Bordeaux")
    assert origins["address"] == origins["postcode"] == origins["city"] == "eshop"
    assert "country" not in origins  # the e-shop record has none: no other record's country is mixed in


# --- search keys and "known since" -----------------------------------------------------------------------------------


def test_a_renamed_customer_is_found_under_the_new_name_at_once():
    # given a customer whose only record is renamed in its source
    customer = CustomerFactory(first_name="Anne", last_name="Bnnet")
    source_record = SourceRecordFactory(customer=customer, first_name="Anne", last_name="Bnnet")
    customers_refresh_golden([customer.pk])
    assert [hit.id for hit in customer_search(query="Bnnet")] == [customer.pk]
    SourceRecord.objects.filter(pk=source_record.pk).update(last_name="Bonnet")
    # when its golden record is refreshed (as an import or a merge does)
    customers_refresh_golden([customer.pk])
    # then the search finds it under the new name, through its stored keys
    customer.refresh_from_db()
    assert customer.search_name == "bonnet anne"
    assert [hit.id for hit in customer_search(query="Bonnet")] == [customer.pk]


def test_a_merge_refreshes_the_survivors_search_keys():
    crm = SourceFactory(key="crm", priority=10)
    loyalty = SourceFactory(key="loyalty", priority=30)
    survivor = CustomerFactory(first_name="", last_name="")
    SourceRecordFactory(source=loyalty, customer=survivor, first_name="", last_name="", email="")
    customers_refresh_golden([survivor.pk])
    duplicate = CustomerFactory(first_name="Léon", last_name="Marchal")
    SourceRecordFactory(source=crm, customer=duplicate, first_name="Léon", last_name="Marchal", email="")
    customer_merge(survivor=survivor, duplicate=duplicate, actor=None, reason="same person")
    survivor.refresh_from_db()
    assert (survivor.last_name, survivor.search_name) == ("Marchal", "marchal leon")


def test_known_since_is_the_earliest_signup_of_the_source_records():
    customer = CustomerFactory()
    SourceRecordFactory(customer=customer, signup_date=dt.date(2019, 5, 4))
    SourceRecordFactory(customer=customer, source=SourceFactory(key="loyalty"), signup_date=dt.date(2012, 1, 9))
    SourceRecordFactory(customer=customer, source=SourceFactory(key="eshop"), signup_date=None)
    assert customer_profile(customer_id=customer.pk).known_since == dt.date(2012, 1, 9)


def test_known_since_falls_back_to_the_creation_date():
    customer = CustomerFactory()
    SourceRecordFactory(customer=customer, signup_date=None)
    assert customer_profile(customer_id=customer.pk).known_since == timezone.localdate(customer.created_at)


# --- unmerge from the admin ------------------------------------------------------------------------------------------


@pytest.fixture
def role_users(django_user_model) -> dict:
    users = {}
    for role in ROLES:
        user = django_user_model.objects.create(username=role, is_staff=role != "sales")
        user.groups.add(Group.objects.get(name=role))
        users[role] = user
    return users


@pytest.fixture
def merged() -> Customer:
    survivor = CustomerFactory(first_name="Anne", last_name="Roux")
    duplicate = CustomerFactory(first_name="Annie", last_name="Roux")
    SourceRecordFactory(customer=survivor, source=SourceFactory(key="crm"))
    SourceRecordFactory(customer=duplicate, source=SourceFactory(key="loyalty"))
    customer_merge(survivor=survivor, duplicate=duplicate, actor=None, reason="same person")
    duplicate.refresh_from_db()
    return duplicate


def unmerge_page(customer: Customer) -> str:
    return reverse("admin:cdp_customer_unmerge", args=[customer.pk])


def test_a_merged_customer_page_offers_the_unmerge(client, role_users, merged):
    client.force_login(role_users["crm"])
    body = client.get(reverse("admin:cdp_customer_change", args=[merged.pk])).content.decode()
    assert unmerge_page(merged) in body
    events = client.get(reverse("admin:cdp_mergeevent_changelist")).content.decode()
    assert unmerge_page(merged) in events


def test_crm_unmerges_with_a_reason_and_it_is_audited(client, role_users, merged):
    client.force_login(role_users["crm"])
    assert "Reason" in client.get(unmerge_page(merged)).content.decode()
    response = client.post(unmerge_page(merged), {"reason": "two people: checked their cards"}, follow=True)
    assert UNMERGED in response.content.decode()
    merged.refresh_from_db()
    assert merged.status == Customer.Status.ACTIVE
    event = MergeEvent.objects.get(kind=MergeEvent.Kind.UNMERGE)
    assert (event.actor.username, event.reason, event.other_id) == ("crm", "two people: checked their cards", merged.pk)
    assert MergeEvent.objects.get(kind=MergeEvent.Kind.MERGE).undone


def test_unmerge_without_a_reason_is_refused_with_the_message(client, role_users, merged):
    client.force_login(role_users["dpo"])
    response = client.post(unmerge_page(merged), {"reason": "  "})
    assert response.status_code == 400
    assert REASON_REQUIRED in response.content.decode()
    merged.refresh_from_db()
    assert merged.status == Customer.Status.MERGED


def test_only_those_who_decide_merges_may_unmerge(client, role_users, merged):
    client.force_login(role_users["marketing"])
    assert client.post(unmerge_page(merged), {"reason": "why not"}).status_code == 403
    body = client.get(reverse("admin:cdp_customer_change", args=[merged.pk])).content.decode()
    assert unmerge_page(merged) not in body
    merged.refresh_from_db()
    assert merged.status == Customer.Status.MERGED


def test_an_active_customer_has_nothing_to_unmerge(client, role_users):
    client.force_login(role_users["crm"])
    customer = CustomerFactory()
    response = client.post(unmerge_page(customer), {"reason": "a reason"})
    assert response.status_code == 400
    assert UNMERGE_NOT_MERGED in response.content.decode()


def test_capitals_of_a_loyalty_system_are_written_in_the_case_people_write():
    # given the loyalty programme alone, in capitals
    loyalty = SourceFactory(key="loyalty", priority=30)
    values, origins = golden_values(
        [
            record(
                loyalty,
                "L1",
                first_name="JEAN-PIERRE",
                last_name="DUPONT",
                address="29 ALL. DES JARDINS",
                postcode="75011",
                city="PARIS",
            )
        ]
    )
    # then the golden record reads as people write it, still from the loyalty programme
    assert (values["first_name"], values["last_name"]) == ("Jean-Pierre", "Dupont")
    assert (values["address"], values["city"], values["postcode"]) == ("29 All. des Jardins", "Paris", "75011")
    assert origins["city"] == "loyalty"


def test_the_sources_mixed_case_spelling_wins_over_capitals_of_the_same_value():
    # given the same name and address in capitals (best source) and in mixed case (another source)
    crm = SourceFactory(key="crm", priority=10)
    eshop = SourceFactory(key="eshop", priority=20)
    records = [
        record(crm, "C1", last_name="MARTIN", address="12 AV. DE LA GARE", postcode="33000", city="BORDEAUX"),
        record(eshop, "W1", last_name="Martin", address="12 avenue de la Gare", postcode="33000", city="Bordeaux"),
    ]
    values, origins = golden_values(records)
    # then the mixed-case spelling is kept, and the address still comes whole from one record
    assert values["last_name"] == "Martin"
    assert (values["address"], values["city"]) == ("12 avenue de la Gare", "Bordeaux")
    assert origins["address"] == origins["city"] == "eshop"
