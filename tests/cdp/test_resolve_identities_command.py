"""`resolve_identities [--export-clusters PATH]` and matching at import against the model the last run trained."""

from __future__ import annotations

import csv
from io import StringIO

import pytest

from django.core.management import CommandError, call_command

from cdp.models import Customer, ResolutionRun, SourceRecord
from tests.cdp.identity_data import generate_demo, import_demo, import_rows

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    return generate_demo(tmp_path_factory.mktemp("identity-command"), customers=200, seed=5)


def test_command_prints_a_summary_and_exports_one_row_per_source_record(demo_dir, tmp_path):
    import_demo(demo_dir)
    before = Customer.objects.active().count()
    out = StringIO()
    export = tmp_path / "out" / "clusters.csv"
    call_command("resolve_identities", export_clusters=str(export), stdout=out)
    line = out.getvalue().strip()
    assert line.count("\n") == 0
    assert f"records {SourceRecord.objects.count()}, links auto" in line
    assert f"customers {before} → {Customer.objects.active().count()}" in line
    with export.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["source", "external_id", "customer_id"]
    assert len(rows) - 1 == SourceRecord.objects.count()
    customer_of = {
        (r.source.key, r.external_id): str(r.customer_id) for r in SourceRecord.objects.select_related("source")
    }
    assert all(customer_of[(source, external_id)] == customer for source, external_id, customer in rows[1:])
    # and a second run changes nothing
    call_command("resolve_identities", stdout=StringIO())
    assert ResolutionRun.objects.first().merges == 0


def test_command_fails_with_a_non_zero_exit_when_the_export_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CommandError) as raised:
        call_command("resolve_identities", export_clusters=str(blocker / "clusters.csv"), stdout=StringIO())
    assert raised.value.returncode != 0


def test_a_record_arriving_later_is_matched_at_import_with_the_trained_model(demo_dir, tmp_path):
    # given a resolved retailer (so a trained model) and one of its people without e-mail or phone
    import_demo(demo_dir)
    call_command("resolve_identities", stdout=StringIO())
    person = SourceRecord.objects.filter(source__key="crm").exclude(birth_date=None).exclude(address="").first()
    born = person.birth_date.isoformat()
    # when a new source sends that person with a typo in the given name and no contact details
    typo = person.first_name[:-1] + ("a" if person.first_name[-1] != "a" else "e")
    import_rows(
        tmp_path / "new.csv",
        "partner",
        f"N1,{typo},{person.last_name},,,{born},,{person.address},{person.postcode},{person.city},FR,",
    )
    # then it joins that person's customer at once, without a new run
    assert SourceRecord.objects.get(external_id="N1").customer_id == person.customer_id
    assert ResolutionRun.objects.count() == 1
