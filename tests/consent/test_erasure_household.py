"""Erasure in a household: a value the erased person shared with others (the family's e-mail, the landline) is refused
only with the erased person; the erased person's own values stay refused whoever brings them; a former merge
partner's history keeps the values its own records carry."""

from __future__ import annotations

import datetime as dt

import pytest

from cdp.identity import customers_refresh_golden
from cdp.identity.services import customer_merge, customer_unmerge
from cdp.models import Customer, Identifier, SourceRecord
from consent.services.erasure import subject_erase
from consent.services.suppression import ERASED_SUBJECT
from tests.cdp.factories import CustomerFactory, IdentifierFactory, SourceFactory, SourceRecordFactory
from tests.cdp.importing import read_errors, run_command, write

pytestmark = pytest.mark.django_db

HEADER = "external_id,first_name,last_name,email,phone,birth_date,gender,address,postcode,city,country,signup_date"
FAMILY_EMAIL = "famille.martin@example.org"
LANDLINE = "+33144556677"  # a Paris fixed line
CLAIRE_MOBILE = "+33612345678"


def member(source, external_id: str, first_name: str, birth_date: dt.date, phone: str = LANDLINE) -> SourceRecord:
    customer = CustomerFactory(first_name=first_name, last_name="Martin", email=FAMILY_EMAIL, birth_date=birth_date)
    record = SourceRecordFactory(
        source=source,
        external_id=external_id,
        customer=customer,
        first_name=first_name,
        last_name="Martin",
        email=FAMILY_EMAIL,
        phone=phone,
        birth_date=birth_date,
    )
    IdentifierFactory(source_record=record, kind=Identifier.Kind.EMAIL, value=FAMILY_EMAIL)
    IdentifierFactory(source_record=record, kind=Identifier.Kind.PHONE, value=phone)
    return record


def test_the_other_member_of_a_household_comes_through_and_the_erased_person_does_not(tmp_path):
    # given Claire (1990) and her mother Claire (1961), who share the family's e-mail; the daughter has her own mobile
    crm = SourceFactory(key="crm")
    daughter = member(crm, "C1", "Claire", dt.date(1990, 5, 17), phone=CLAIRE_MOBILE)
    IdentifierFactory(source_record=daughter, kind=Identifier.Kind.PHONE, value=LANDLINE)
    member(crm, "C2", "Claire", dt.date(1961, 2, 3))
    # when the daughter is erased
    subject_erase(customer=daughter.customer, reason="Art. 17")
    # and a new source sends the household again, with others carrying the daughter's values
    rows = [
        "E1,Claire,Martin,famille.martin@example.org,01 44 55 66 77,1961-02-03,F,,,,,",  # the mother: through
        "E2,Claire,Martin,famille.martin@example.org,01 44 55 66 77,1990-05-17,F,,,,,",  # the erased daughter
        "E3,Claire,Martin,famille.martin@example.org,,,F,,,,,",  # the same name without a birth date: who knows
        "E4,Paul,Martin,famille.martin@example.org,01 44 55 66 77,1993-08-01,M,,,,,",  # her brother: through
        "E5,Jean,Durand,,06 12 34 56 78,,M,,,,,",  # the daughter's own mobile, whoever brings it
    ]
    path = write(tmp_path / "household.csv", HEADER, *rows)
    code, _ = run_command("import_customers", path, "eshop", errors=str(tmp_path / "errors.csv"))
    # then the mother and the brother are imported; the daughter, her namesake without a date and her mobile are not
    assert code == 1
    refused = {error["external_id"]: error["reasons"] for error in read_errors(tmp_path / "errors.csv")}
    assert refused == {"E2": ERASED_SUBJECT, "E3": ERASED_SUBJECT, "E5": ERASED_SUBJECT}
    assert set(SourceRecord.objects.filter(source__key="eshop").values_list("external_id", flat=True)) == {"E1", "E4"}


def test_a_former_merge_partners_history_keeps_the_values_its_own_records_carry():
    # given the mother, and her daughter merged into her by mistake and split out again
    crm = SourceFactory(key="crm", priority=10)
    eshop = SourceFactory(key="eshop", priority=20)
    mother = member(crm, "C2", "Claire", dt.date(1961, 2, 3))
    daughter = member(eshop, "W1", "Claire", dt.date(1990, 5, 17), phone=CLAIRE_MOBILE)
    customers_refresh_golden([mother.customer_id, daughter.customer_id])
    customer_merge(survivor=mother.customer, duplicate=daughter.customer, actor=None, reason="same e-mail")
    customer_unmerge(customer=Customer.objects.get(pk=daughter.customer_id), actor=None, reason="two people")
    history = Customer.history.model.objects
    assert history.filter(id=mother.customer_id, email=FAMILY_EMAIL).exists()
    # when the daughter is erased
    subject_erase(customer=Customer.objects.get(pk=daughter.customer_id), reason="Art. 17")
    # then the mother's history keeps the family's e-mail and the landline, which her own records carry
    assert not history.filter(id=mother.customer_id, email="").exists()
    assert (
        history.filter(id=mother.customer_id, email=FAMILY_EMAIL).count()
        == history.filter(id=mother.customer_id).count()
    )
    assert not history.filter(id=mother.customer_id, phone=CLAIRE_MOBILE).exists()
    assert Identifier.history.model.objects.filter(customer_id=mother.customer_id, value=FAMILY_EMAIL).exists()
