"""One portability archive per request: producing it again replaces the file, a download is its one use, and closing
the request removes every copy. Through the API, as the DPO's integration calls it."""

from __future__ import annotations

from pathlib import Path

import pytest

from django.urls import reverse

from consent.api.requests import NO_EXPORT_READY
from consent.models import RequestAction, SubjectExport
from consent.services import requests as dsr
from consent.services.export import EXPORT_DIR
from tests.cdp.factories import SourceRecordFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def dpo(client, role_users):
    client.force_login(role_users["dpo"])
    return client


@pytest.fixture
def request_(role_users):
    customer = SourceRecordFactory(external_id="CRM-77").customer
    request = dsr.dsr_create(kind="portability", received_via="email", customer=customer)
    return dsr.dsr_verify_identity(request=request, method="call-back on the number on file", actor=role_users["dpo"])


def files_on_disk(media: Path) -> list[Path]:
    folder = media / EXPORT_DIR
    return sorted(folder.glob("*.zip")) if folder.exists() else []


def produce(client, request, capture) -> None:
    with capture(execute=True):
        assert client.post(reverse("consent-api:subject-request-export", args=[request.pk])).status_code == 202


def test_producing_the_archive_again_replaces_it(dpo, request_, media, django_capture_on_commit_callbacks):
    # when the export is asked for five times (a retrying client, a fuzzer)
    for _ in range(5):
        produce(dpo, request_, django_capture_on_commit_callbacks)
    # then one archive is on the disk, the request's latest, and the trail shows each production
    [on_disk] = files_on_disk(media)
    latest = SubjectExport.objects.filter(request=request_).order_by("-pk").first()
    assert on_disk == media / latest.file
    assert SubjectExport.objects.filter(request=request_).exclude(file="").count() == 1
    assert request_.events.filter(action=RequestAction.EXPORT_PRODUCED).count() == 5


def test_after_the_download_no_other_link_can_be_had(dpo, request_, media, django_capture_on_commit_callbacks):
    produce(dpo, request_, django_capture_on_commit_callbacks)
    produce(dpo, request_, django_capture_on_commit_callbacks)
    link_url = reverse("consent-api:subject-request-export-link", args=[request_.pk])
    # the one archive is downloaded
    link = dpo.post(link_url).json()["url"]
    download = dpo.get(link)
    assert download.status_code == 200
    b"".join(download.streaming_content)
    # then no second link, and nothing left on the disk
    again = dpo.post(link_url)
    assert again.status_code == 409
    assert again.json() == {"detail": NO_EXPORT_READY}
    assert files_on_disk(media) == []
    # producing it again gives one new archive, downloadable once
    produce(dpo, request_, django_capture_on_commit_callbacks)
    assert len(files_on_disk(media)) == 1
    assert dpo.get(dpo.post(link_url).json()["url"]).status_code == 200


@pytest.mark.parametrize("close", ["complete", "reject"])
def test_closing_the_request_removes_every_copy(
    dpo, request_, media, role_users, django_capture_on_commit_callbacks, close
):
    produce(dpo, request_, django_capture_on_commit_callbacks)
    assert len(files_on_disk(media)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        if close == "complete":
            dsr.dsr_complete(request=request_, outcome="archive sent by e-mail", actor=role_users["dpo"])
        else:
            dsr.dsr_reject(request=request_, reason="identity not proved", actor=role_users["dpo"])
    assert files_on_disk(media) == []
    assert not SubjectExport.objects.filter(request=request_).exclude(file="").exists()
    assert "1 export file(s) removed" in request_.events.order_by("-pk").first().note
    # and a closed request produces nothing more
    response = dpo.post(reverse("consent-api:subject-request-export", args=[request_.pk]))
    assert response.status_code == 400
    assert files_on_disk(media) == []
