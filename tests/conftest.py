"""Shared fixtures: named role users, a logged-in client per role, and the real-browser driver."""

from __future__ import annotations

import os
import shutil

import pytest

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from cdp.roles import ROLE_SALES, ROLES

PASSWORD = "a-test-password-9f2"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


@pytest.fixture(autouse=True)
def english(settings):
    """The suite reads the product in English (a browser asking for it gets it); LANGUAGE_CODE's default is the
    French demo retailer's, which tests of the French pages ask for by name."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests log users in by the hundred; a real password hash costs ~0.3 s of CPU each time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def eager_tasks():
    """Tasks run in the test's process even where a broker is configured (CI's second run): the test reads the
    result in its own transaction."""
    from cdp.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


def make_role_user(role: str):
    user = get_user_model().objects.create_user(username=role, password=PASSWORD, is_staff=role != ROLE_SALES)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def role_users(db) -> dict:
    """One user per role, named after it (crm, marketing, sales, dpo)."""
    return {role: make_role_user(role) for role in ROLES}


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser(username="root", password=PASSWORD, email="")


@pytest.fixture
def crm_client(client, role_users):
    client.force_login(role_users["crm"])
    return client


@pytest.fixture
def admin_client_(client, superuser):
    client.force_login(superuser)
    return client


def _chromium_paths() -> tuple[str | None, str | None]:
    return shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, driven by Selenium. Skips where it is not installed, fails under CI."""
    binary, driver_path = _chromium_paths()
    if not (binary and driver_path):
        message = "Debian's chromium and chromium-driver are not installed (make test installs them as root)"
        if IN_CI:
            pytest.fail(f"{message}; under CI the page tests must run")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()
