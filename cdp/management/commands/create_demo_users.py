"""Create one demo user per role (development only) and print how to log in."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cdp.roles import ROLE_SALES, ROLES

DEMO_PASSWORD = "clientele-demo"  # noqa: S105 - demo accounts exist only outside production


class Command(BaseCommand):
    help = "Create the demo users crm, marketing, sales, dpo (and admin) with a shared demo password."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--password", default=DEMO_PASSWORD, help="Password for every demo user.")

    @transaction.atomic
    def handle(self, *args, password: str, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo users are not created in production mode.")
        user_model = get_user_model()
        for role in ROLES:
            user, _ = user_model.objects.get_or_create(username=role, defaults={"first_name": role.upper()})
            # Sales reps use the web pages only; the other roles work in the admin too.
            user.is_staff = role != ROLE_SALES
            user.set_password(password)
            user.save()
            user.groups.set([Group.objects.get(name=role)])
        admin, _ = user_model.objects.get_or_create(username="admin")
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        users = ", ".join((*ROLES, "admin"))
        self.stdout.write(f"Demo users: {users} (password: {password})")
