"""Create one demo user per role (development only) and print how to log in."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cdp.demo.users import DEMO_PASSWORD, demo_users_create


class Command(BaseCommand):
    help = "Create the demo users crm, marketing, sales, sales2, dpo (and admin) with a shared demo password."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--password", default=DEMO_PASSWORD, help="Password for every demo user.")

    def handle(self, *args, password: str, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo users are not created in production mode.")
        users = ", ".join(demo_users_create(password=password))
        self.stdout.write(f"Demo users: {users} (password: {password})")
