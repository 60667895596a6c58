"""The importers' normalisers: every accepted form, every refusal with its user-facing reason."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import phonenumbers
import pytest

from cdp import normalise
from cdp.normalise import (
    INVALID_EMAIL,
    INVALID_PHONE,
    NOT_AN_INTEGER,
    UNKNOWN_COUNTRY,
    UNKNOWN_GENDER,
    UNPARSABLE_DATE,
    UNPARSABLE_NUMBER,
    UNPARSABLE_TIMESTAMP,
    NormalisationError,
    normalise_code,
    normalise_country,
    normalise_email,
    normalise_gender,
    normalise_key,
    normalise_name,
    normalise_phone,
    normalise_postcode,
    normalise_text,
    parse_date,
    parse_decimal_minor,
    parse_integer,
    parse_timestamp,
)

PARIS = ZoneInfo("Europe/Paris")


# --- the error itself ------------------------------------------------------------------------------------------------


def test_error_message_is_the_reason_then_the_value():
    error = NormalisationError(UNPARSABLE_DATE, "31/02/2024")

    assert str(error) == "unparsable date '31/02/2024'"
    assert error.reason == UNPARSABLE_DATE
    assert error.value == "31/02/2024"
    assert isinstance(error, ValueError)


def test_error_message_shortens_long_values_to_60_characters():
    # given a whole line pasted into one cell
    value = "x" * 500

    # when it is refused
    message = str(NormalisationError(UNKNOWN_GENDER, value))

    # then the user sees the reason and the first 60 characters, the last one an ellipsis
    assert message == f"{UNKNOWN_GENDER} '{'x' * 59}…'"


def test_error_without_value_is_the_reason_alone():
    assert str(NormalisationError(UNPARSABLE_NUMBER)) == UNPARSABLE_NUMBER


# --- text, codes, keys -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("   ", ""),
        ("  Rue   de la\tPaix \n", "Rue de la Paix"),
        ("12\u00a0rue\u202fHoche", "12 rue Hoche"),
        ("Cafe\u0301", "Café"),  # NFD from a Mac export becomes NFC
    ],
)
def test_normalise_text(value, expected):
    assert normalise_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("  SKU-123ab ", "SKU-123ab"),
        ("R 2024\t 0001", "R 2024 0001"),
    ],
)
def test_normalise_code_keeps_case(value, expected):
    assert normalise_code(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("Fresh Food", "fresh_food"),
        ("Épicerie fine", "epicerie_fine"),
        ("  E-mail marketing ", "e_mail_marketing"),
        ("sms_marketing", "sms_marketing"),
        ("--Boucherie / Charcuterie--", "boucherie_charcuterie"),
        ("Œufs & crèmerie", "oeufs_cremerie"),
        ("Straße", "strasse"),
        ("Wine 2", "wine_2"),
    ],
)
def test_normalise_key(value, expected):
    assert normalise_key(value) == expected


# --- e-mail ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("   ", ""),
        ("mailto:", ""),  # a bare prefix is an empty address
        ("  Jean.Dupont@Example.FR ", "jean.dupont@example.fr"),
        ("mailto:jean@example.fr", "jean@example.fr"),
        ("MAILTO:Jean@Example.fr", "jean@example.fr"),
        ("jean+promo@mail.example.co.uk", "jean+promo@mail.example.co.uk"),
        ("he\u0301le\u0300ne@example.fr", "hélène@example.fr"),
    ],
)
def test_normalise_email(value, expected):
    assert normalise_email(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "jean.dupont",
        "jean@example",
        "jean@@example.fr",
        "jean@dupont@example.fr",
        "jean dupont@example.fr",
        "jean..dupont@example.fr",
        "jean@example..fr",
        ".jean@example.fr",
        "jean.@example.fr",
        "jean@.example.fr",
        "jean@example.fr.",
        "@example.fr",
        "jean@",
        "jean@example.f",
        "Jean Dupont <jean@example.fr>",
    ],
)
def test_normalise_email_refuses_what_does_not_look_like_an_address(value):
    with pytest.raises(NormalisationError, match=INVALID_EMAIL) as caught:
        normalise_email(value)
    assert caught.value.reason == INVALID_EMAIL
    assert str(caught.value) == f"{INVALID_EMAIL} {value!r}"


# --- phone -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        (None, "FR", ""),
        ("", "FR", ""),
        ("  ", "FR", ""),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", "FR", "+33612345678"),
        ("0033612345678", "FR", "+33612345678"),
        ("(0)6.12.34.56.78", "FR", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "FR", "+33612345678"),
        ("06-12-34-56-78", "FR", "+33612345678"),
        ("01 42 68 53 00", "FR", "+33142685300"),
        ("+44 20 7946 0958", "FR", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("0470 12 34 56", "BE", "+32470123456"),
        ("+33612345678", "", "+33612345678"),  # an international number needs no region
    ],
)
def test_normalise_phone(value, region, expected):
    assert normalise_phone(value, region) == expected


def test_normalise_phone_reads_national_numbers_in_france_by_default():
    assert normalise_phone("06 12 34 56 78") == "+33612345678"


@pytest.mark.parametrize(
    ("value", "region"),
    [
        ("12", "FR"),
        ("0612", "FR"),
        ("06 12 34 56 78 90 12", "FR"),
        ("abc", "FR"),
        ("n/a", "FR"),
        ("06 12 34 56 78", ""),  # a national number without a region to read it in
    ],
)
def test_normalise_phone_refuses_impossible_numbers(value, region):
    with pytest.raises(NormalisationError, match=INVALID_PHONE) as caught:
        normalise_phone(value, region)
    assert str(caught.value) == f"{INVALID_PHONE} {value!r}"


def test_normalise_phone_refuses_a_recurring_bad_number_every_time():
    # given a bad number already seen (the cache remembers it)
    with pytest.raises(NormalisationError):
        normalise_phone("0612")

    # when it comes again, then it is refused again
    with pytest.raises(NormalisationError, match=INVALID_PHONE):
        normalise_phone("0612")


# --- names -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("JEAN DE LA FONTAINE", "Jean de la Fontaine"),
        ("jean de la fontaine", "Jean de la Fontaine"),
        ("DE LA FONTAINE", "De la Fontaine"),  # a particle that comes first takes a capital
        ("o'neil", "O'Neil"),
        ("O’NEIL", "O’Neil"),
        ("MARIE-HÉLÈNE", "Marie-Hélène"),
        ("Jean - Pierre", "Jean-Pierre"),
        ("jean -pierre", "Jean-Pierre"),
        ("  JEAN   PIERRE  ", "Jean Pierre"),
        ("JEAN D'ORMESSON", "Jean d'Ormesson"),
        ("d'artagnan", "D'Artagnan"),
        ("LUDWIG VAN BEETHOVEN", "Ludwig van Beethoven"),
        ("MAX VON DER HEIDE", "Max von der Heide"),
        ("LEONARDO DA VINCI", "Leonardo da Vinci"),
        ("ÉLODIE", "Élodie"),  # accents are kept
        ("He\u0301le\u0300ne", "Hélène"),  # NFC
        ("McDonald", "McDonald"),  # mixed case was typed on purpose
        ("Jean de La Fontaine", "Jean de La Fontaine"),
        ("van der berg", "Van der Berg"),  # all lower: re-cased
        ("van der Berg", "van der Berg"),  # mixed: kept
    ],
)
def test_normalise_name(value, expected):
    assert normalise_name(value) == expected


# --- gender ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["f", "F", "female", "Woman", "femme", "Mme", "Mme.", "madame", "Mrs", "Ms.", "miss", "w", "Mlle"], "f"),
        (["m", "M", "male", "man", "Homme", "m.", "M.", "Mr", "Mr.", "monsieur", "H"], "m"),
        (["x", "X", "other", "Autre", "nb", "NB", "non-binary", "Non binary", "divers", "d"], "x"),
        ([None, "", "  ", "unknown", "U", "inconnu", "N/A", "-"], ""),
    ],
)
def test_normalise_gender(values, expected):
    assert [normalise_gender(value) for value in values] == [expected] * len(values)


@pytest.mark.parametrize("value", ["z", "yes", "1", "mister x", "femmes"])
def test_normalise_gender_refuses_unknown_words(value):
    with pytest.raises(NormalisationError, match=UNKNOWN_GENDER) as caught:
        normalise_gender(value)
    assert str(caught.value) == f"{UNKNOWN_GENDER} {value!r}"


# --- country ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fr", "FR"),
        (" FR ", "FR"),
        ("FRA", "FR"),
        ("fra", "FR"),
        ("France", "FR"),
        ("FRANCE", "FR"),
        ("Belgique", "BE"),
        ("Belgium", "BE"),
        ("BEL", "BE"),
        ("Deutschland", "DE"),
        ("Germany", "DE"),
        ("Allemagne", "DE"),
        ("DEU", "DE"),
        ("Spain", "ES"),
        ("Espagne", "ES"),
        ("España", "ES"),
        ("Italy", "IT"),
        ("Italie", "IT"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("U.K.", "GB"),
        ("Royaume-Uni", "GB"),
        ("royaume uni", "GB"),
        ("Switzerland", "CH"),
        ("Suisse", "CH"),
        ("Luxembourg", "LU"),
        ("Netherlands", "NL"),
        ("Pays-Bas", "NL"),
        ("Portugal", "PT"),
        ("United States", "US"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("États-Unis", "US"),
        ("etats-unis", "US"),
        ("Canada", "CA"),
        ("Côte d'Ivoire", "CI"),
        ("La Réunion", "RE"),
        ("zw", "ZW"),  # every ISO alpha-2 code, not only the named countries
        ("AQ", "AQ"),
    ],
)
def test_normalise_country(value, expected):
    assert normalise_country(value) == expected


@pytest.mark.parametrize(("value", "default", "expected"), [(None, "FR", "FR"), ("", "FR", "FR"), ("  ", "", "")])
def test_normalise_country_defaults_when_empty(value, default, expected):
    assert normalise_country(value, default=default) == expected


@pytest.mark.parametrize("value", ["XX", "EU", "Atlantis", "F", "Frankreich du Nord", "123"])
def test_normalise_country_refuses_unknown_countries(value):
    with pytest.raises(NormalisationError, match=UNKNOWN_COUNTRY) as caught:
        normalise_country(value, default="FR")
    assert str(caught.value) == f"{UNKNOWN_COUNTRY} {value!r}"


def test_iso_alpha2_table_is_complete():
    # given libphonenumber's regions, which are the ISO codes minus uninhabited territories plus a few extras
    regions = phonenumbers.SUPPORTED_REGIONS

    # then our table holds all 249 officially assigned codes
    assert len(normalise._ISO_ALPHA2) == 249
    assert normalise._ISO_ALPHA2 - regions == {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}
    assert regions - normalise._ISO_ALPHA2 == {"AC", "TA", "XK"}


def test_country_table_refuses_a_label_naming_two_countries(monkeypatch):
    # given a table where "Holland" would name both the Netherlands and France
    monkeypatch.setattr(normalise, "_COUNTRY_TABLE", "NL NLD Holland\nFR FRA France; Holland")

    # when the lookup is built, then the mistake is caught
    with pytest.raises(ValueError, match="'Holland' is ambiguous"):
        normalise._country_lookup()


# --- postcode --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "country", "expected"),
    [
        (None, "FR", ""),
        ("", "FR", ""),
        (" 75001 ", "FR", "75001"),
        ("75 001", "FR", "75001"),
        ("1000", "FR", "01000"),  # a spreadsheet dropped the leading zero
        ("1000", "fr", "01000"),
        ("1000", "BE", "1000"),  # Belgian codes have four digits
        ("1000", "", "1000"),
        ("75008 cedex", "FR", "75008 CEDEX"),  # not digits: kept as typed, upper-cased
        ("sw1a  1aa", "GB", "SW1A 1AA"),
        ("l-1234", "LU", "L-1234"),
    ],
)
def test_normalise_postcode(value, country, expected):
    assert normalise_postcode(value, country) == expected


# --- dates -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "date_format", "expected"),
    [
        (None, None, None),
        ("", None, None),
        ("  ", "%d/%m/%Y", None),
        ("2024-03-05", None, date(2024, 3, 5)),
        (" 2024-03-05 ", None, date(2024, 3, 5)),
        ("2024-03-05T23:30:00+01:00", None, date(2024, 3, 5)),  # a timestamp gives its own date, as written
        ("2024-03-05 10:00", None, date(2024, 3, 5)),
        ("05/03/2024", "%d/%m/%Y", date(2024, 3, 5)),
        ("5/3/2024", "%d/%m/%Y", date(2024, 3, 5)),
        ("03/05/2024", "%m/%d/%Y", date(2024, 3, 5)),
        ("05.03.24", "%d.%m.%y", date(2024, 3, 5)),
        ("05.03.70", "%d.%m.%y", date(1970, 3, 5)),
        ("05/03/2024 10:23", "%d/%m/%Y %H:%M", date(2024, 3, 5)),
        ("5 March 2024", "%d %B %Y", date(2024, 3, 5)),  # a format the fast path leaves to strptime
        ("29/02/2024", "%d/%m/%Y", date(2024, 2, 29)),
    ],
)
def test_parse_date(value, date_format, expected):
    assert parse_date(value, date_format) == expected


@pytest.mark.parametrize(
    ("value", "date_format"),
    [
        ("31/02/2024", "%d/%m/%Y"),
        ("29/02/2023", "%d/%m/%Y"),
        ("2024-03-05", "%d/%m/%Y"),
        ("05/03/24", "%d/%m/%Y"),
        ("05/03/2024 trailing", "%d/%m/%Y"),
        ("00/03/2024", "%d/%m/%Y"),
        ("5 Mars 2024", "%d %B %Y"),
        ("05/03/2024", None),
        ("2024-13-01", None),
        ("yesterday", None),
    ],
)
def test_parse_date_refuses_unparsable_dates(value, date_format):
    with pytest.raises(NormalisationError, match=UNPARSABLE_DATE) as caught:
        parse_date(value, date_format)
    assert str(caught.value) == f"{UNPARSABLE_DATE} {value!r}"


def test_fast_date_formats_agree_with_strptime():
    # given formats that take the fast path
    cases = [
        ("05/03/2024 7:05:09", "%d/%m/%Y %H:%M:%S"),
        ("2024-03-05T10:23", "%Y-%m-%dT%H:%M"),
        ("05.03.2024", "%d.%m.%Y"),
        ("05/03/2024  10:23", "%d/%m/%Y %H:%M"),  # a blank in the format matches any run of blanks
        ("1/1/69", "%d/%m/%y"),
        ("1/1/68", "%d/%m/%y"),
    ]
    for value, date_format in cases:
        assert normalise._fast_format(date_format) is not None
        # then they read what strptime reads
        assert normalise._strptime(value, date_format, None) == datetime.strptime(value, date_format)  # noqa: DTZ007


# --- timestamps ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "date_format", "expected"),
    [
        ("2025-03-14T10:23:00+01:00", None, datetime(2025, 3, 14, 9, 23, tzinfo=UTC)),
        ("2025-03-14T10:23:00Z", None, datetime(2025, 3, 14, 10, 23, tzinfo=UTC)),
        ("2025-03-14 10:23", None, datetime(2025, 3, 14, 10, 23, tzinfo=PARIS)),
        ("2025-07-14 10:23:05", None, datetime(2025, 7, 14, 8, 23, 5, tzinfo=UTC)),  # summer time: +02:00
        ("2025-03-14", None, datetime(2025, 3, 14, tzinfo=PARIS)),  # a date alone is midnight in tz
        ("14/03/2025 10:23", "%d/%m/%Y %H:%M", datetime(2025, 3, 14, 10, 23, tzinfo=PARIS)),
        ("14/03/2025", "%d/%m/%Y", datetime(2025, 3, 14, tzinfo=PARIS)),  # no time part: midnight
        ("14/03/2025 10:23 +0000", "%d/%m/%Y %H:%M %z", datetime(2025, 3, 14, 10, 23, tzinfo=UTC)),
        ("March 14 2025, 10:23", "%B %d %Y, %H:%M", datetime(2025, 3, 14, 10, 23, tzinfo=PARIS)),
    ],
)
def test_parse_timestamp(value, date_format, expected):
    # when
    moment = parse_timestamp(value, PARIS, date_format)

    # then it is aware and the same instant
    assert moment.tzinfo is not None
    assert moment == expected


def test_parse_timestamp_keeps_the_offset_it_was_given():
    moment = parse_timestamp("2025-03-14T10:23:00-05:00", PARIS)

    assert moment.utcoffset() == timedelta(hours=-5)


def test_parse_timestamp_attaches_any_tzinfo():
    moment = parse_timestamp("2025-03-14 10:23", timezone(timedelta(hours=5)))

    assert moment == datetime(2025, 3, 14, 5, 23, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_parse_timestamp_empty_is_none(value):
    assert parse_timestamp(value, PARIS) is None


def test_parse_timestamp_nonexistent_local_time_does_not_crash():
    # given 02:30 on the night clocks in Paris jump from 02:00 to 03:00
    value = "2025-03-30 02:30"

    # when
    moment = parse_timestamp(value, PARIS)

    # then it is aware, on that day, and read with the offset before the jump: 01:30 UTC, which is 03:30 summer time
    assert moment.utcoffset() is not None
    assert moment.date() == date(2025, 3, 30)
    assert moment.astimezone(UTC) == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert moment.astimezone(UTC).astimezone(PARIS).hour == 3


def test_parse_timestamp_ambiguous_local_time_is_the_first_occurrence():
    # given 02:30 on the night clocks in Paris fall back from 03:00 to 02:00 (02:30 happens twice)
    value = "2025-10-26 02:30"

    # when
    moment = parse_timestamp(value, PARIS)

    # then it is aware, and the first 02:30 (still summer time, +02:00)
    assert moment.utcoffset() == timedelta(hours=2)
    assert moment.astimezone(UTC) == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "date_format"),
    [
        ("14/03/2025 10:23", None),
        ("2025-03-14 25:00", None),
        ("2025-02-30", None),
        ("now", None),
        ("2025-03-14 10:23", "%d/%m/%Y %H:%M"),
        ("14/03/2025 10:60", "%d/%m/%Y %H:%M"),
        ("14/03/2025 24:00", "%d/%m/%Y %H:%M"),
        ("31/04/2025", "%d/%m/%Y"),
    ],
)
def test_parse_timestamp_refuses_unparsable_timestamps(value, date_format):
    with pytest.raises(NormalisationError, match=UNPARSABLE_TIMESTAMP) as caught:
        parse_timestamp(value, PARIS, date_format)
    assert str(caught.value) == f"{UNPARSABLE_TIMESTAMP} {value!r}"


# --- decimals in minor units -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("12.34", 1234),
        ("-3.5", -350),
        ("+3.5", 350),
        ("1234", 123400),
        ("0", 0),
        ("-0.00", 0),
        (".5", 50),
        ("5.", 500),
        ("1,234.56", 123456),
        ("1,234", 123400),  # a comma before exactly three digits groups thousands
        ("1,234,567.89", 123456789),
        ("1'234.56", 123456),  # Swiss grouping
        ("1 234.56", 123456),
        ("$12.34", 1234),
        ("12.34 €", 1234),
        ("£ 12.34", 1234),
        ("-€12.34", -1234),
        ("€-12.34", -1234),
        ("−4.5", -450),  # the Unicode minus sign
        ("0.125", 12),  # half to even: down to the even 12
        ("0.135", 14),  # half to even: up to the even 14
        ("0.1251", 13),  # more than half
        ("0.1250000", 12),
        ("-0.125", -12),  # symmetric for negatives
        ("-0.135", -14),
        ("0.129", 13),
        ("0.121", 12),
        ("19.999", 2000),
        ("12345678901234567890.12", 1234567890123456789012),  # exact far beyond a float
    ],
)
def test_parse_decimal_minor(value, expected):
    assert parse_decimal_minor(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12,34", 1234),
        ("€ 12,50", 1250),
        ("12,50 €", 1250),
        ("-3,5", -350),
        ("1 234,56", 123456),
        ("1\u00a0234,56", 123456),  # no-break space
        ("1\u202f234,56", 123456),  # narrow no-break space (French number formatting)
        ("1\u2009234,56\u2009€", 123456),  # thin space
        ("1'234,56", 123456),
        ("1.234,56", 123456),
        ("1.234.567,89", 123456789),
        ("1234", 123400),
        ("0,125", 12),
        ("0,135", 14),
    ],
)
def test_parse_decimal_minor_with_decimal_comma(value, expected):
    assert parse_decimal_minor(value, decimal_comma=True) == expected


@pytest.mark.parametrize(
    ("value", "exponent", "expected"),
    [
        ("1000", 0, 1000),
        ("12.5", 0, 12),
        ("13.5", 0, 14),
        ("1.2345", 3, 1234),
        ("1.2355", 3, 1236),
        ("1.2", 3, 1200),
    ],
)
def test_parse_decimal_minor_other_exponents(value, exponent, expected):
    assert parse_decimal_minor(value, exponent=exponent) == expected


@pytest.mark.parametrize(
    ("value", "decimal_comma"),
    [
        ("abc", False),
        ("1.2.3", False),
        ("1.2.3", True),
        ("12,34", False),  # a comma without decimal_comma must group three digits
        ("1,2345", False),
        ("1,23,456", False),
        ("12.34", True),  # with decimal_comma a dot groups thousands, so it needs three digits
        ("1 234.567,8", True),  # mixed thousands separators
        ("1,234 567", False),
        ("NaN", False),
        ("inf", False),
        ("-inf", False),
        ("Infinity", True),
        ("1e3", False),
        ("-", False),
        (".", False),
        ("€", False),
        ("--1", False),
        ("1-", False),
        ("12 34", False),
        ("(12.00)", False),
        ("1_000", False),  # int() would accept it
        ("٣", False),  # an Arabic-Indic digit int() would accept too
        ("1" * 65, False),
    ],
)
def test_parse_decimal_minor_refuses_garbage(value, decimal_comma):
    with pytest.raises(NormalisationError, match=UNPARSABLE_NUMBER) as caught:
        parse_decimal_minor(value, decimal_comma=decimal_comma)
    assert caught.value.reason == UNPARSABLE_NUMBER


def test_parse_decimal_minor_error_shows_the_value():
    with pytest.raises(NormalisationError) as caught:
        parse_decimal_minor("12,34")
    assert str(caught.value) == "unparsable number '12,34'"


# --- integers --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "decimal_comma", "expected"),
    [
        (None, False, None),
        ("", False, None),
        (" ", False, None),
        ("3", False, 3),
        (" 3 ", False, 3),
        ("-1", False, -1),
        ("+2", False, 2),
        ("0", False, 0),
        ("2.0", False, 2),
        ("2.000", False, 2),
        ("-2.0", False, -2),
        ("2,0", True, 2),
        ("1,234", False, 1234),
        ("1 234", True, 1234),
        ("1.234", True, 1234),
    ],
)
def test_parse_integer(value, decimal_comma, expected):
    assert parse_integer(value, decimal_comma=decimal_comma) == expected


@pytest.mark.parametrize(
    ("value", "decimal_comma"), [("2.5", False), ("2,5", True), ("-0.1", False), ("1.0001", False), ("1,234.5", False)]
)
def test_parse_integer_refuses_fractions(value, decimal_comma):
    with pytest.raises(NormalisationError, match=NOT_AN_INTEGER) as caught:
        parse_integer(value, decimal_comma=decimal_comma)
    assert str(caught.value) == f"{NOT_AN_INTEGER} {value!r}"


@pytest.mark.parametrize(
    ("value", "decimal_comma"), [("abc", False), ("2,0", False), ("1.2.3", False), ("NaN", False), ("1_000", False)]
)
def test_parse_integer_refuses_garbage(value, decimal_comma):
    with pytest.raises(NormalisationError, match=UNPARSABLE_NUMBER):
        parse_integer(value, decimal_comma=decimal_comma)
