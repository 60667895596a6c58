"""The demo's users: one per role (a second sales rep, so that each rep sees only their own briefs), and an admin."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from cdp.roles import ROLE_SALES, ROLES

DEMO_PASSWORD = "clientele-demo"  # noqa: S105 - demo accounts exist only outside production
EXTRA_SALES_REPS = ("sales2",)
# username -> (first name, last name): people's names on the pages ("Welcome, Sophie"), in briefs and in the audit
NAMES = {
    "crm": ("Claire", "Moreau"),
    "marketing": ("Marc", "Lefebvre"),
    "sales": ("Sophie", "Martin"),
    "sales2": ("Samir", "Benali"),
    "dpo": ("Delphine", "Rousseau"),
}


@transaction.atomic
def demo_users_create(*, password: str = DEMO_PASSWORD) -> list[str]:
    """Create (or reset) the demo users; returns their usernames."""
    user_model = get_user_model()
    names = []
    for username, role in (*((role, role) for role in ROLES), *((rep, ROLE_SALES) for rep in EXTRA_SALES_REPS)):
        first, last = NAMES.get(username, (username.capitalize(), ""))
        user, _ = user_model.objects.get_or_create(username=username, defaults={"first_name": first, "last_name": last})
        # Sales reps use the web pages only; the other roles work in the admin too.
        user.is_staff = role != ROLE_SALES
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        names.append(username)
    admin, _ = user_model.objects.get_or_create(username="admin")
    admin.is_staff = admin.is_superuser = True
    admin.set_password(password)
    admin.save()
    return [*names, "admin"]


def demo_sales_reps() -> list:
    """The sales reps of the demo (creating the demo users first when there are none)."""
    user_model = get_user_model()
    reps = list(user_model.objects.filter(groups__name=ROLE_SALES, is_active=True).order_by("username"))
    if not reps:
        demo_users_create()
        reps = list(user_model.objects.filter(groups__name=ROLE_SALES, is_active=True).order_by("username"))
    return reps
