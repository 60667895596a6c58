"""No log holds a customer's personal data or a live token: the product's own handlers (as settings.LOGGING configures
them, runserver's access lines included) over a search, an import, a profile view, preference-page requests and an
erasure; and gunicorn's access log, from a real gunicorn in production mode."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from django.core import signing
from django.urls import reverse

from cdp.logs import QUERY, TOKEN
from consent.models import SubjectExport
from consent.services.erasure import subject_erase
from consent.services.export import subject_export, subject_export_link
from consent.services.preferences import SALT, preference_link_mint
from tests.cdp.factories import SourceRecordFactory

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "audrey.maillard1976@orange.fr"
PHONE = "+33612345678"
PHONE_DIGITS = "612345678"
LAST_NAME = "Maillardière"


@contextlib.contextmanager
def product_logs() -> Iterator[io.StringIO]:
    """Everything the configured handlers write, at every level, while the block runs."""
    stream = io.StringIO()
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in logging.root.manager.loggerDict)]
    handlers = {
        handler
        for logger in loggers
        for handler in logger.handlers
        if type(handler) is logging.StreamHandler  # every configured handler that writes somewhere, not pytest's
    }
    assert len(handlers) >= 2, "at least the console and runserver's handlers, as settings.LOGGING makes them"
    before = [(handler, handler.setStream(stream)) for handler in handlers]
    root = logging.getLogger()
    root_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.setLevel(root_level)
        for handler, previous in before:
            handler.setStream(previous)


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
@pytest.mark.parametrize("debug", [False, True])
def test_a_day_of_work_logs_no_personal_value_and_no_token(role_users, client, settings, tmp_path, debug):
    settings.DEBUG = debug  # development (runserver) logs more than production does
    settings.MEDIA_ROOT = tmp_path / "media"
    customer = SourceRecordFactory(
        customer__first_name="Audrey", customer__last_name=LAST_NAME, customer__email=EMAIL, customer__phone=PHONE
    ).customer
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=role_users['crm']).key}")
    client.force_login(role_users["crm"])
    with product_logs() as logs:
        # a search on the page and through the API, by e-mail and by phone (one of them past the last page: a warning)
        client.get(reverse("customers:search"), {"q": EMAIL})
        api.get(reverse("api:customer-list"), {"q": PHONE})
        api.get(reverse("api:customer-list"), {"q": EMAIL, "page": 9})
        # runserver's access line for such a search, as its request handler writes it
        logging.getLogger("django.server").info(
            '"%s" %s %s', f"GET /api/v1/customers/?q={EMAIL.replace('@', '%40')} HTTP/1.1", "200", "57"
        )
        # an import with a refused row that quotes the value
        marketing = APIClient()
        marketing.force_authenticate(role_users["marketing"])
        records = [{"external_id": "W1", "email": EMAIL.replace("@", "@@"), "last_name": LAST_NAME}]
        marketing.post("/api/v1/ingest/customers/", {"source": "eshop", "records": records}, format="json")
        # a profile view
        client.get(reverse("customers:profile", args=[customer.pk]))
        # the preference page: a valid link, an altered one (a "not found" warning), and its requests
        link = preference_link_mint(customer=customer)
        page = link[link.index("/privacy/") :]
        token = page.rstrip("/").rsplit("/", 1)[-1]
        anonymous = APIClient()
        anonymous.get(page)
        anonymous.get(page.replace(token, token[:-3] + "xyz"))
        anonymous.post(f"{page}request/", {"kind": "unknown"})
        # a download link used twice (the second time refused with a warning), then the erasure
        subject_export(customer=customer)
        download = subject_export_link(export=SubjectExport.objects.get())
        dpo = APIClient()
        dpo.force_authenticate(role_users["dpo"])
        for _ in range(2):
            dpo.get(reverse("consent-api:subject-export-download", args=[download]))
        subject_erase(customer=customer, reason="Art. 17 request", actor=role_users["dpo"])
    # then the logs said things, and none of them a personal value or a token
    logged = logs.getvalue()
    assert "Not Found" in logged
    assert f"/privacy/preferences/{TOKEN}/" in logged
    assert f"/api/v1/customers/?{QUERY}" in logged
    for secret in (EMAIL, EMAIL.replace("@", "%40"), PHONE_DIGITS, LAST_NAME, token, token.split(":")[0], download):
        assert secret not in logged, secret


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn_production(tmp_path):
    """gunicorn serving the product in production mode, as README says to run it, its access log in a file."""
    port = _free_port()
    env = {
        **os.environ,
        "PRODUCTION": "true",
        "SECRET_KEY": "k" * 20 + "-production-secret-for-the-log-test-" + "x9Qz" * 5,
        "PSEUDONYMISATION_KEY": "p" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "PREFERENCE_LINK_BASE_URL": "https://shop.example",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    env.pop("CELERY_BROKER_URL", None)
    # production serves the collected static files (the pages name them); the product's own are enough here
    env["STATIC_ROOT"] = str(tmp_path / "static")
    collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"]
    for ignored in ("drf_spectacular_sidecar", "admin", "rest_framework"):
        collect += ["-i", ignored]
    subprocess.run(collect, cwd=ROOT, env=env, check=True, timeout=120)
    log = tmp_path / "access.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "cdp.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1", "--access-logfile", log],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"gunicorn did not start: {process.stderr.read()[-2000:]}")
            time.sleep(0.2)
    yield url, log, env
    process.terminate()
    process.wait(timeout=20)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # one request, one access line: the test asks for the redirect's target itself


def _get(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https", **headers})
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_gunicorns_access_log_carries_no_query_string_and_no_token(gunicorn_production):
    url, log, env = gunicorn_production
    token = signing.TimestampSigner(key=env["SECRET_KEY"], salt=SALT).sign("k3yOfAcustomer0123456")
    # a search by e-mail and by phone, a preference page and its form's request (whose referrer is the page), and a
    # download link: none needs the database to be answered (not authenticated, or a link not found)
    _get(f"{url}/api/v1/customers/?q={EMAIL.replace('@', '%40')}", {})
    _get(f"{url}/customers/?q={PHONE.replace('+', '%2B')}", {})  # to the login page, the search in `next`
    _get(f"{url}/accounts/login/?next=/customers/%3Fq%3D{PHONE.replace('+', '%252B')}", {})
    _get(
        f"{url}/privacy/preferences/{token}/?done=saved",
        {"Referer": f"https://shop.example/privacy/preferences/{token}/"},
    )
    _get(f"{url}/api/v1/subject-exports/one-time-download-token-0123456789/", {})
    deadline = time.monotonic() + 10
    while log.read_text().count('"GET ') < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    logged = log.read_text()
    assert logged.count('"GET ') == 5
    assert f"/privacy/preferences/{TOKEN}/" in logged
    assert f"/api/v1/customers/?{QUERY}" in logged
    for secret in ("maillard", "orange.fr", PHONE_DIGITS, token, token.split(":")[0], "one-time-download-token"):
        assert secret not in logged, secret
