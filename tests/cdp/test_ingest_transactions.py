"""import_transactions and import_events: receipts, returns, anonymous activity linked later, atomic batches."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from django.db import connection

from cdp.ingest import pg_transactions, service
from cdp.models import ImportBatch, Interaction, Product, Receipt, ReceiptLine, SourceRecord, Store
from tests.cdp.importing import read_errors, run_command, write

pytestmark = pytest.mark.django_db

T_HEADER = ",".join(
    ["receipt_id", "line", "customer_external_id", "timestamp", "store", "channel", "sku", "product_name", "category"]
    + ["quantity", "unit_price", "discount"]
)
E_HEADER = "customer_external_id,anonymous_id,timestamp,type,channel,properties"


def run(command: str, path: Path, source: str = "loyalty", **options) -> tuple[int, str]:
    return run_command(command, path, source, **options)


def test_receipts_lines_catalogue_and_totals(tmp_path):
    path = write(
        tmp_path / "t.csv",
        T_HEADER,
        "R1,1,,2025-03-14T10:23:00+01:00,PAR-01,store,SKU1,Pain,Fresh Food,2,1.50,0.00",
        "R1,2,,2025-03-14T10:23:00+01:00,PAR-01,store,SKU2,Vin rouge,wine,1,12.90,2.00",
        "R2,1,,2025-03-15,WEB,web,SKU2,Vin rouge,wine,-1,12.90,0",
    )
    code, out = run("import_transactions", path)
    assert code == 0, out
    assert "read 3, created 3" in out
    r1 = Receipt.objects.get(receipt_id="R1")
    assert (r1.total_minor, r1.discount_minor, r1.item_count, r1.currency) == (300 + 1290 - 200, 200, 3, "EUR")
    assert r1.customer_id is None
    assert r1.store.code == "PAR-01"
    # a date alone means midnight of that day in the retailer's time zone; a negative quantity is a return
    r2 = Receipt.objects.get(receipt_id="R2")
    assert r2.purchased_at.isoformat() == "2025-03-14T23:00:00+00:00"
    assert r2.is_return
    assert r2.total_minor == -1290
    assert Store.objects.get(code="WEB").kind == "web"
    assert Product.objects.get(sku="SKU1").category.key == "fresh_food"


def test_reimport_is_idempotent_and_a_changed_line_is_updated_in_place(tmp_path):
    rows = [
        T_HEADER,
        "R1,1,,2025-03-14T10:00:00+01:00,S1,store,SKU1,A,x,1,2.00,0",
        "R1,2,,2025-03-14T10:00:00+01:00,S1,store,SKU2,B,x,1,3.00,0",
    ]
    run("import_transactions", write(tmp_path / "a.csv", *rows))
    code, out = run("import_transactions", write(tmp_path / "a.csv", *rows))
    assert "created 0, updated 0, unchanged 2" in out
    rows[2] = "R1,2,,2025-03-14T10:00:00+01:00,S1,store,SKU2,B,x,3,3.00,0"
    code, out = run("import_transactions", write(tmp_path / "b.csv", *rows))
    assert "created 0, updated 1, unchanged 1" in out
    assert ReceiptLine.objects.count() == 2
    assert Receipt.objects.get().total_minor == 200 + 900


def test_lines_without_a_number_follow_the_file_order(tmp_path):
    header = "receipt_id,customer_external_id,timestamp,sku,quantity,unit_price"
    path = write(tmp_path / "t.csv", header, "R1,,2025-01-01,A,1,1", "R2,,2025-01-01,A,1,1", "R1,,2025-01-01,B,1,1")
    code, _ = run("import_transactions", path)
    assert code == 0
    assert list(
        ReceiptLine.objects.filter(receipt__receipt_id="R1").order_by("line_no").values_list("line_no", "product__sku")
    ) == [(1, "A"), (2, "B")]
    code, out = run("import_transactions", path)
    assert "unchanged 3" in out


def test_an_anonymous_receipt_is_linked_when_its_customer_arrives(tmp_path):
    run("import_transactions", write(tmp_path / "t.csv", T_HEADER, "R1,1,CARD9,2025-01-05,S1,store,SKU1,A,x,1,2.00,0"))
    assert Receipt.objects.get().customer_id is None
    run("import_events", write(tmp_path / "e.csv", E_HEADER, "CARD9,,2025-01-05T10:00:00Z,store_visit,store,"))
    assert Interaction.objects.get().customer_id is None
    # when the loyalty card's customer record is imported
    run("import_customers", write(tmp_path / "c.csv", "external_id,first_name", "CARD9,Anne"))
    # then the waiting receipt and interaction are that customer's
    customer = SourceRecord.objects.get(external_id="CARD9").customer
    assert Receipt.objects.get().customer == customer
    assert Interaction.objects.get().customer == customer


def test_a_receipt_of_a_known_customer_is_linked_at_once(tmp_path):
    run("import_customers", write(tmp_path / "c.csv", "external_id,first_name", "CARD1,Anne"))
    run("import_transactions", write(tmp_path / "t.csv", T_HEADER, "R1,1,CARD1,2025-01-05,S1,store,SKU1,A,x,1,2.00,0"))
    assert Receipt.objects.get().customer.first_name == "Anne"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (",1,,2025-01-01,S1,store,SKU1,A,x,1,2.00,0", "missing required field 'receipt_id'"),
        ("R9,1,,2025-13-01,S1,store,SKU1,A,x,1,2.00,0", "unparsable timestamp"),
        ("R9,1,,2099-01-01,S1,store,SKU1,A,x,1,2.00,0", "is in the future"),
        ("R9,1,,2025-01-01,S1,store,SKU1,A,x,1,-2.00,0", "negative unit price"),
        ("R9,1,,2025-01-01,S1,store,SKU1,A,x,1,2.00,-1", "negative discount"),
        ("R9,1,,2025-01-01,S1,store,SKU1,A,x,1,2.00,5", "discount larger than the line amount"),
        ("R9,1,,2025-01-01,S1,store,SKU1,A,x,0,2.00,0", "quantity is zero"),
        ("R9,1,,2025-01-01,S1,store,SKU1,A,x,1.5,2.00,0", "not a whole number"),
        ("R9,1,,2025-01-01,S1,store,SKU1,A,x,1,abc,0", "unparsable number"),
        ("R9,0,,2025-01-01,S1,store,SKU1,A,x,1,2.00,0", "must be 1 or more"),
        ("R9,1,,2025-01-01,S1,teleport,SKU1,A,x,1,2.00,0", "unknown channel"),
        ("R0,1,,2025-01-01,S1,store,SKU1,A,x,1,2.00,0", "duplicate of row 2"),
    ],
)
def test_each_transaction_rejection_reason(tmp_path, row, reason):
    path = write(tmp_path / "t.csv", T_HEADER, "R0,1,,2025-01-01,S1,store,SKU1,A,x,1,2.00,0", row)
    code, out = run("import_transactions", path, errors=str(tmp_path / "e.csv"))
    assert code == 1
    errors = read_errors(tmp_path / "e.csv")
    assert [e["row"] for e in errors] == ["3"]
    assert reason in errors[0]["reasons"]
    assert ReceiptLine.objects.count() == 1


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (",,2025-01-01T10:00:00Z,page_view,web,", "needs customer_external_id or anonymous_id"),
        (",a1,2025-01-01T10:00:00Z,page_view,web,not json", "properties is not a JSON object"),
        (',a1,2025-01-01T10:00:00Z,page_view,web,"[1,2]"', "properties is not a JSON object"),
        (",a1,yesterday,page_view,web,", "unparsable timestamp"),
        (",a1,2025-01-01T10:00:00Z,,web,", "missing required field 'type'"),
        (",a1,2025-01-01T10:00:00Z,page_view,fax,", "unknown channel"),
    ],
)
def test_each_event_rejection_reason(tmp_path, row, reason):
    path = write(tmp_path / "e.csv", E_HEADER, row)
    code, _ = run("import_events", path, source="eshop", errors=str(tmp_path / "err.csv"))
    assert code == 1
    assert reason in read_errors(tmp_path / "err.csv")[0]["reasons"]
    assert Interaction.objects.count() == 0


def test_events_are_stored_once(tmp_path):
    path = write(
        tmp_path / "e.csv",
        E_HEADER,
        ',web-1,2025-01-01T10:00:00+01:00,page_view,Website,"{""page"": ""/""}"',
        "C1,,2025-01-01T09:00:00Z,email_open,e-mail,",
    )
    code, out = run("import_events", path, source="eshop")
    assert "created 2" in out
    code, out = run("import_events", path, source="eshop")
    assert "created 0, updated 0, unchanged 2" in out
    anonymous = Interaction.objects.get(anonymous_id="web-1")
    assert (anonymous.channel, anonymous.type, anonymous.properties) == ("web", "page_view", {"page": "/"})
    assert Interaction.objects.get(customer_external_id="C1").channel == "email"


def test_an_interrupted_import_keeps_whole_batches_only_and_resumes(tmp_path, monkeypatch):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL imports a file as one batch: see the COPY-path test below")
    # given six lines written in batches of two, and a crash while the second batch is being written
    lines = [f"R{i},1,,2025-01-0{i},S1,store,SKU{i},P,x,1,{i}.00,0" for i in range(1, 7)]
    path = write(tmp_path / "t.csv", T_HEADER, *lines)
    real_write = service.write_transactions
    calls = {"n": 0}

    def crash_in_second_batch(*args, **kwargs):
        calls["n"] += 1
        counts = real_write(*args, **kwargs)
        if calls["n"] == 2:
            raise KeyboardInterrupt  # after the batch's rows were written, before its commit
        return counts

    monkeypatch.setattr(service, "write_transactions", crash_in_second_batch)
    with pytest.raises(KeyboardInterrupt):
        run("import_transactions", path, batch_size=2)
    # then only the first batch is there: nothing half-written
    assert sorted(Receipt.objects.values_list("receipt_id", flat=True)) == ["R1", "R2"]
    assert ReceiptLine.objects.count() == 2
    assert Product.objects.filter(sku__in=["SKU3", "SKU4"]).count() == 0
    assert ImportBatch.objects.get().status == "interrupted"
    # and a re-run completes it idempotently
    monkeypatch.setattr(service, "write_transactions", real_write)
    code, out = run("import_transactions", path, batch_size=2)
    assert code == 0
    assert "created 4, updated 0, unchanged 2" in out


def test_an_interrupted_copy_import_writes_nothing_and_resumes(tmp_path, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path runs on PostgreSQL")
    # given six lines and a crash after the merge wrote them, before the commit
    lines = [f"R{i},1,,2025-01-0{i},S1,store,SKU{i},P,x,1,{i}.00,0" for i in range(1, 7)]
    path = write(tmp_path / "t.csv", T_HEADER, *lines)
    real_write = pg_transactions.write_file

    def crash_after_writing(job, scan, **options):
        attempt = real_write(job, scan, **options)
        assert attempt.counts == (6, 0, 0)  # every line was written before the crash
        raise KeyboardInterrupt

    monkeypatch.setattr(pg_transactions, "write_file", crash_after_writing)
    with pytest.raises(KeyboardInterrupt):
        run("import_transactions", path)
    # then nothing of the file is there
    assert Receipt.objects.count() == 0
    assert ReceiptLine.objects.count() == 0
    assert Product.objects.count() == 0
    assert ImportBatch.objects.get().status == "interrupted"
    # and a re-run imports it whole
    monkeypatch.setattr(pg_transactions, "write_file", real_write)
    code, out = run("import_transactions", path)
    assert code == 0
    assert "created 6, updated 0, unchanged 0" in out


def test_a_latin1_semicolon_decimal_comma_export_imports_through_the_options(tmp_path):
    # given a spreadsheet's export: Latin-1, semicolons, decimal commas, French dates, its own column names
    path = write(
        tmp_path / "caisse.csv",
        "Ticket;Client;Date;Magasin;Article;Libellé;Rayon;Qté;Prix unitaire;Remise",
        "T-1;;14/03/2025 10:23;Lyon Part-Dieu;A12;Crème brûlée;Desserts;2;3,50;0,50",
        "T-1;;14/03/2025 10:23;Lyon Part-Dieu;B7;Café moulu;Épicerie;1;1 204,99;0",
        encoding="latin-1",
    )
    code, out = run(
        "import_transactions",
        path,
        source="caisses",
        delimiter=";",
        encoding="latin-1",
        decimal_comma=True,
        date_format="%d/%m/%Y %H:%M",
        map="Ticket=receipt_id,Client=customer_external_id,Date=timestamp,Magasin=store,Article=sku,"
        "Libellé=product_name,Rayon=category,Qté=quantity,Prix unitaire=unit_price,Remise=discount",
    )
    assert code == 0, out
    receipt = Receipt.objects.get(receipt_id="T-1")
    assert receipt.total_minor == 700 - 50 + 120499
    assert receipt.purchased_at.isoformat() == "2025-03-14T09:23:00+00:00"
    assert Product.objects.get(sku="A12").name == "Crème brûlée"
    assert Product.objects.get(sku="B7").category.key == "epicerie"


@pytest.mark.parametrize(
    ("column", "value"),
    [("receipt_id", "R" * 129), ("sku", "S" * 65), ("store", "X" * 51), ("customer_external_id", "C" * 129)],
)
def test_a_value_longer_than_its_column_is_refused_with_its_row(tmp_path, column, value):
    values = {"receipt_id": "R9", "sku": "SKU9", "store": "S1", "customer_external_id": ""}
    values[column] = value
    row = f"{values['receipt_id']},1,{values['customer_external_id']},2025-01-01,{values['store']},store,"
    row += f"{values['sku']},A,x,1,2.00,0"
    path = write(tmp_path / "t.csv", T_HEADER, "R0,1,,2025-01-01,S1,store,SKU1,A,x,1,2.00,0", row)
    code, _ = run("import_transactions", path, errors=str(tmp_path / "e.csv"))
    assert code == 1
    assert f"{column} too long" in read_errors(tmp_path / "e.csv")[0]["reasons"]
    assert ReceiptLine.objects.count() == 1


def test_rows_of_one_receipt_that_disagree_on_its_header_keep_the_first_rows(tmp_path):
    # given a receipt whose second line names another customer, store, channel and time (an export's glitch), all
    # sorting before the first line's
    path = write(
        tmp_path / "t.csv",
        T_HEADER,
        "R1,1,C2,2025-01-03T11:00:00+01:00,S2,web,SKU1,P,x,1,1.00,0",
        "R1,2,C1,2025-01-02T10:00:00+01:00,S1,store,SKU2,P,x,2,1.00,0",
        "R2,1,C1,2025-01-04T10:00:00+01:00,S1,store,SKU1,P,x,1,1.00,0",
    )
    code, out = run("import_transactions", path)
    assert code == 0, out
    # then the receipt's header is its first row's, whichever path imported it, and both lines count in its totals
    receipt = Receipt.objects.select_related("store").get(receipt_id="R1")
    assert (receipt.customer_external_id, receipt.store.code, receipt.channel) == ("C2", "S2", "web")
    assert receipt.purchased_at == dt.datetime(2025, 1, 3, 10, 0, tzinfo=dt.UTC)
    assert (receipt.total_minor, receipt.item_count) == (300, 3)
