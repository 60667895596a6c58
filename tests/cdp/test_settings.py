"""Production mode refuses an unsafe configuration and passes Django's deployment checklist."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "PRODUCTION"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def production_env() -> dict[str, str]:
    return {
        "PRODUCTION": "true",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "PSEUDONYMISATION_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "cdp.example.com",
        "PREFERENCE_LINK_BASE_URL": "https://cdp.example.com",
    }


def test_production_refuses_to_start_without_a_secret_key(production_env):
    # given production mode with no SECRET_KEY
    del production_env["SECRET_KEY"]
    # when Django starts
    result = run_manage("check", **production_env)
    # then it stops with a clear message
    assert result.returncode != 0
    assert "needs SECRET_KEY" in result.stderr


def test_production_refuses_the_development_key(production_env):
    production_env["SECRET_KEY"] = "django-insecure-" + "x" * 60
    result = run_manage("check", **production_env)
    assert result.returncode != 0
    assert "needs SECRET_KEY" in result.stderr


@pytest.mark.parametrize("base_url", ["", "http://cdp.example.com"])
def test_production_refuses_preference_links_that_are_not_public_https(production_env, base_url):
    production_env["PREFERENCE_LINK_BASE_URL"] = base_url
    result = run_manage("check", **production_env)
    assert result.returncode != 0
    assert "needs PREFERENCE_LINK_BASE_URL" in result.stderr


def test_production_refuses_debug(production_env):
    result = run_manage("check", DEBUG="true", **production_env)
    assert result.returncode != 0
    assert "forbids DEBUG" in result.stderr


def test_production_passes_check_deploy_with_no_warning(production_env):
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **production_env)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_development_defaults_need_no_service():
    from django.conf import settings

    # The suite runs on whatever DATABASE_URL says; the defaults themselves are SQLite and eager Celery.
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)",
        DATABASE_URL="",
        CELERY_BROKER_URL="",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["django.db.backends.sqlite3", "True"]
    assert settings.CELERY_TASK_EAGER_PROPAGATES is True


def test_settings_defaults_are_written_once_in_settings_py():
    # no module reads a setting with a default of its own (getattr(settings, NAME, default)): settings.py has them
    # all.
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"getattr\(\s*settings\s*,")
    offenders = [
        str(path.relative_to(root))
        for app in ("cdp", "consent", "segments", "campaigns")
        for path in (root / app).rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8")) and path.name != "settings.py"
    ]
    assert offenders == []
