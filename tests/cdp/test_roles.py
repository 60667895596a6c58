"""The four role groups exist with the permissions each role needs, and no more."""

from __future__ import annotations

import pytest

from django.contrib.auth.models import Group

from cdp.roles import ROLES, permission_ids_for

pytestmark = pytest.mark.django_db


def test_migrations_create_the_four_role_groups():
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


@pytest.mark.parametrize(
    ("role", "permission", "granted"),
    [
        ("crm", "cdp.view_customer", True),
        ("crm", "cdp.change_customer", True),
        ("crm", "cdp.delete_customer", False),
        ("crm", "cdp.add_source", False),
        ("marketing", "cdp.view_receiptline", True),
        ("marketing", "cdp.change_product", True),
        ("marketing", "cdp.change_customer", False),
        ("sales", "cdp.view_customer", False),
        ("sales", "cdp.view_sourcerecord", False),
        ("sales", "cdp.change_customer", False),
        ("dpo", "cdp.delete_customer", True),
        ("dpo", "cdp.view_interaction", True),
        ("dpo", "cdp.add_receipt", False),
        ("dpo", "consent.change_datasubjectrequest", True),
        ("dpo", "consent.view_erasurereceipt", True),
        ("crm", "consent.view_consentevent", True),
        ("crm", "consent.view_datasubjectrequest", False),
        ("crm", "consent.view_erasurereceipt", False),
        # each kind of batch is a right of its own; consents only for those given exactly that right
        ("marketing", "cdp.import_customers", True),
        ("marketing", "cdp.import_transactions", True),
        ("marketing", "cdp.import_events", True),
        ("marketing", "consent.import_consentevent", False),
        ("crm", "consent.import_consentevent", False),
        ("crm", "cdp.import_customers", False),
        ("dpo", "consent.import_consentevent", True),
        ("dpo", "cdp.import_customers", False),
    ],
)
def test_role_permissions(role_users, role, permission, granted):
    assert role_users[role].has_perm(permission) is granted


def test_sync_is_idempotent_and_restores_removed_permissions():
    from django.contrib.auth.models import Permission

    from cdp.roles import roles_sync

    crm = Group.objects.get(name="crm")
    before = set(crm.permissions.values_list("id", flat=True))
    crm.permissions.clear()
    roles_sync(Group, Permission)
    roles_sync(Group, Permission)
    assert set(crm.permissions.values_list("id", flat=True)) == before


def test_patterns_match_whole_codenames_only():
    permissions = [(1, "cdp", "view_customer"), (2, "cdp", "view_customerx"), (3, "consent", "view_purpose")]
    assert permission_ids_for(["cdp.view_customer"], permissions) == {1}
    assert permission_ids_for(["cdp.view_*"], permissions) == {1, 2}
    assert permission_ids_for(["consent.*"], permissions) == {3}
    assert permission_ids_for(["cdp.view_*", "!cdp.view_customerx"], permissions) == {1}


def readme_roles() -> dict[str, tuple[str, ...]]:
    """The README's "Roles" table: role -> its permission patterns, in the order written."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = text.split("### Roles", 1)[1].split("\n\n", 3)[2]
    roles = {}
    for line in [line for line in table.splitlines() if line.startswith("|")][2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        roles[cells[0].strip("`")] = tuple(re.findall(r"`([^`]+)`", cells[1]))
    return roles


def test_each_roles_permissions_are_exactly_the_readmes_table():
    from cdp.roles import ROLE_PERMISSIONS

    assert readme_roles() == ROLE_PERMISSIONS


def test_sales_reps_read_no_customer_data(role_users):
    # the brief is what sales work from: no profile, receipt, interaction or consent
    sales = role_users["sales"]
    assert not [perm for perm in sales.get_all_permissions() if perm.split(".")[0] in {"cdp", "consent"}]
