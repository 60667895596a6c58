"""Celery tasks: eager in-process by default; through a real broker and worker when CELERY_BROKER_URL is set."""

from __future__ import annotations

import os
import time

import pytest

from django.conf import settings

from cdp.tasks import worker_healthcheck
from tests.cdp.factories import CustomerFactory
from tests.conftest import REQUIRE_SERVICES


@pytest.mark.django_db
@pytest.mark.skipif(not settings.CELERY_TASK_ALWAYS_EAGER, reason="a broker is configured: tasks are not eager")
def test_tasks_run_eagerly_without_a_broker():
    CustomerFactory.create_batch(2)
    result = worker_healthcheck.delay().get(timeout=5)
    assert result["customers"] == 2
    assert result["pid"] == os.getpid()


@pytest.mark.integration
def test_a_task_goes_through_the_broker_to_a_real_worker(celery_worker_process):
    # given three customers committed to the test database
    CustomerFactory.create_batch(3)
    # when a task is sent through the broker
    started = time.monotonic()
    async_result = worker_healthcheck.delay()
    try:
        result = async_result.get(timeout=90)
    except Exception:
        celery_worker_process.terminate()
        output = celery_worker_process.communicate(timeout=20)[0]
        pytest.fail(f"the worker did not answer; its output:\n{output[-4000:]}")
    # then another process ran it against the same database
    assert result["pid"] != os.getpid()
    assert result["pid"] == celery_worker_process.pid
    assert result["customers"] == 3
    assert async_result.status == "SUCCESS"
    assert time.monotonic() - started < 90


@pytest.mark.integration
@pytest.mark.django_db
def test_ci_runs_on_the_database_it_was_given():
    if not REQUIRE_SERVICES:
        pytest.skip("only meaningful in CI's PostgreSQL run")
    from django.db import connection

    assert connection.vendor == "postgresql"
    assert not settings.CELERY_TASK_ALWAYS_EAGER
