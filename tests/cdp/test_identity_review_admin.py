"""The review queue in the admin: both records side by side; crm and dpo decide with a reason, others cannot."""

from __future__ import annotations

import pytest

from django.contrib.auth.models import Group
from django.urls import reverse

from cdp.models import Customer, MergeEvent, MergeReview
from cdp.roles import ROLES
from tests.cdp.factories import SourceFactory, SourceRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def role_users(django_user_model) -> dict:
    """One user per role, without a password: hashing four passwords per test would cost seconds."""
    users = {}
    for role in ROLES:
        user = django_user_model.objects.create(username=role, is_staff=role != "sales")
        user.groups.add(Group.objects.get(name=role))
        users[role] = user
    return users


@pytest.fixture
def review() -> MergeReview:
    left = SourceRecordFactory(source=SourceFactory(key="crm"), first_name="Anne", last_name="Roux", email="")
    right = SourceRecordFactory(source=SourceFactory(key="loyalty"), first_name="Anne", last_name="Rou", email="")
    return MergeReview.objects.create(
        left=left, right=right, probability=0.8, levels={"name": "family name close", "birth_date": "dob missing"}
    )


def page(review: MergeReview) -> str:
    return reverse("admin:cdp_mergereview_change", args=[review.pk])


def login(client, role_users, role: str):
    client.force_login(role_users[role])
    return client


def test_queue_and_page_show_both_records_side_by_side(client, role_users, review):
    client = login(client, role_users, "marketing")  # may view, not decide
    assert client.get(reverse("admin:cdp_mergereview_changelist")).status_code == 200
    response = client.get(page(review))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Rou" in body
    assert "Roux" in body
    assert "family name close" in body
    assert 'name="_accept"' not in body


def test_crm_accepts_with_a_reason_and_the_customers_are_merged(client, role_users, review):
    client = login(client, role_users, "crm")
    response = client.post(page(review), {"_accept": "1", "reason": "same card holder, checked at the desk"})
    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.status, review.decided_by.username) == (MergeReview.Status.ACCEPTED, "crm")
    assert review.reason == "same card holder, checked at the desk"
    assert review.decided_at
    assert review.left.customer_id == review.right.customer_id
    event = MergeEvent.objects.get(review=review)
    assert (event.actor.username, event.reason) == ("crm", "same card holder, checked at the desk")


def test_dpo_rejects_and_the_records_stay_apart(client, role_users, review):
    client = login(client, role_users, "dpo")
    client.post(page(review), {"_reject": "1", "reason": "different birth years on the paper form"})
    review.refresh_from_db()
    assert review.status == MergeReview.Status.REJECTED
    assert review.left.customer_id != review.right.customer_id
    assert Customer.objects.active().count() == 2


def test_a_decision_without_reason_is_refused(client, role_users, review):
    client = login(client, role_users, "crm")
    response = client.post(page(review), {"_accept": "1", "reason": "  "})
    assert response.status_code == 200
    assert "a reason is required" in response.content.decode()
    review.refresh_from_db()
    assert review.status == MergeReview.Status.PENDING


@pytest.mark.parametrize("role", ["marketing", "sales"])
def test_other_roles_cannot_decide(client, role_users, review, role):
    client = login(client, role_users, role)
    response = client.post(page(review), {"_accept": "1", "reason": "why not"})
    assert response.status_code in (302, 403)  # sales is not staff: the admin sends it to its login page
    if role == "sales":
        assert reverse("admin:login") in response["Location"]
    review.refresh_from_db()
    assert review.status == MergeReview.Status.PENDING


def test_role_permissions_of_the_queue(role_users):
    assert role_users["crm"].has_perm("cdp.change_mergereview")
    assert role_users["dpo"].has_perm("cdp.change_mergereview")
    assert role_users["marketing"].has_perm("cdp.view_mergereview")
    assert not role_users["marketing"].has_perm("cdp.change_mergereview")
    assert not role_users["sales"].has_perm("cdp.view_mergereview")
