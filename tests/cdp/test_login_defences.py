"""Login defences: wrong passwords lock a username out from an address (django-axes), passwords are stored with
Argon2, and a staff session lasts a working day, never beyond the browser. Through the real login forms."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt

from django.conf import settings as project_settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from cdp import settings as configured
from cdp.views import LOCKED_OUT_STATUS
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")


def attempt(client: Client, username: str, password: str, address: str = "203.0.113.10"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_then_the_right_one_does_not_log_in(role_users):
    client = Client()
    for _ in range(30):
        assert attempt(client, "crm", "guess").status_code in {200, LOCKED_OUT_STATUS}
    response = attempt(client, "crm", PASSWORD)
    assert response.status_code == LOCKED_OUT_STATUS
    assert "Too many failed attempts" in response.content.decode()
    assert not logged_in(client)


def test_the_lockout_starts_at_the_limit_and_is_per_username_and_address(role_users, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "crm", "guess").status_code == 200  # the form again, with its error
    assert attempt(client, "crm", "guess").status_code == LOCKED_OUT_STATUS
    # the same username from another address, and another username from the same address, still log in
    other_address = Client()
    assert attempt(other_address, "crm", PASSWORD, address="198.51.100.20").status_code == 302
    assert logged_in(other_address)
    other_user = Client()
    assert attempt(other_user, "dpo", PASSWORD).status_code == 302
    assert logged_in(other_user)


def test_the_admin_login_is_locked_out_too(role_users, settings):
    client = Client()
    admin_login = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(admin_login, {"username": "dpo", "password": "guess"}, REMOTE_ADDR="203.0.113.11")
    response = client.post(admin_login, {"username": "dpo", "password": PASSWORD}, REMOTE_ADDR="203.0.113.11")
    assert response.status_code == LOCKED_OUT_STATUS
    assert not logged_in(client)


def test_after_the_cool_off_the_right_password_logs_in_and_resets_the_count(role_users, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "crm", "guess")
    assert attempt(client, "crm", PASSWORD).status_code == LOCKED_OUT_STATUS
    # the cool-off passes
    AccessAttempt.objects.update(
        attempt_time=dt.datetime.now(dt.UTC) - settings.AXES_COOLOFF_TIME * dt.timedelta(hours=1)
    )
    assert attempt(client, "crm", PASSWORD).status_code == 302
    assert logged_in(client)
    assert not AccessAttempt.objects.filter(username="crm").exists()


def test_a_client_cannot_choose_its_address_with_a_forwarded_header(role_users, settings):
    client = Client()
    for number in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            LOGIN,
            {"username": "crm", "password": "guess"},
            REMOTE_ADDR="203.0.113.12",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{number}",
        )
    response = client.post(
        LOGIN, {"username": "crm", "password": PASSWORD}, REMOTE_ADDR="203.0.113.12", HTTP_X_FORWARDED_FOR="10.0.0.99"
    )
    assert response.status_code == LOCKED_OUT_STATUS


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_clients(role_users, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            LOGIN, {"username": "crm", "password": "guess"}, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.13"
        )
    locked = client.post(
        LOGIN, {"username": "crm", "password": PASSWORD}, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.13"
    )
    assert locked.status_code == LOCKED_OUT_STATUS
    # another client behind the same proxy is not locked out
    other = Client()
    response = other.post(
        LOGIN, {"username": "crm", "password": PASSWORD}, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="198.51.100.7"
    )
    assert response.status_code == 302


def test_passwords_are_stored_with_argon2_and_older_hashes_upgraded_at_login(settings):
    settings.PASSWORD_HASHERS = configured.PASSWORD_HASHERS  # the project's, not the tests' fast one
    assert configured.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    user = get_user_model().objects.create_user(username="analyst", password=PASSWORD)
    assert user.password.startswith("argon2$argon2id$")
    # a password stored by the former default (PBKDF2) is rehashed with Argon2 when its user logs in
    from django.contrib.auth.hashers import make_password

    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save()
    assert attempt(Client(), "analyst", PASSWORD).status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")


def test_a_session_lasts_a_working_day_and_ends_with_the_browser(role_users):
    client = Client()
    assert attempt(client, "crm", PASSWORD).status_code == 302
    assert client.session.get_expiry_age() <= 8 * 3600
    assert client.session.get_expire_at_browser_close()
    cookie = client.cookies[project_settings.SESSION_COOKIE_NAME]
    assert not cookie["max-age"]  # a browser-session cookie
    assert not cookie["expires"]
