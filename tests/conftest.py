"""Shared fixtures: named role users, a logged-in client per role, and the real-browser driver."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from cdp.roles import ROLE_SALES, ROLES

PASSWORD = "a-test-password-9f2"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}
ROOT = Path(__file__).resolve().parents[1]


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


def _database_url_of_test_database() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real `celery worker` process on the configured broker, reading the test database."""
    if settings.CELERY_TASK_ALWAYS_EAGER or settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        message = "needs CELERY_BROKER_URL and a PostgreSQL DATABASE_URL (CI's second run sets both)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    env = {**os.environ, "DATABASE_URL": _database_url_of_test_database(), "CONN_MAX_AGE": "0"}
    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cdp",
            "worker",
            "--pool",
            "solo",
            "-n",
            name,
            "-Q",
            "default,ingest,ml",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def tasks_run(request, transactional_db):
    """Tasks run where the product runs them: by a real worker through the broker when one is configured (CI's
    PostgreSQL run), else eagerly in the process (the embedded default). For tests whose data is committed."""
    if settings.CELERY_TASK_ALWAYS_EAGER or settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        request.getfixturevalue("eager_tasks")
        yield None
    else:
        yield request.getfixturevalue("celery_worker_process")


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
