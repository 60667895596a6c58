"""Pure, fast normalisers and parsers applied by the CSV and API importers to every incoming value."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, tzinfo
from functools import lru_cache
from operator import itemgetter

import phonenumbers

# Reasons shown to the user (the importer's error file, the API's row errors); tests reuse them.
INVALID_EMAIL = "invalid e-mail address"
INVALID_PHONE = "invalid phone number"
UNPARSABLE_DATE = "unparsable date"
UNPARSABLE_TIMESTAMP = "unparsable timestamp"
UNPARSABLE_NUMBER = "unparsable number"
NOT_AN_INTEGER = "not a whole number"
UNKNOWN_GENDER = "unknown gender"
UNKNOWN_COUNTRY = "unknown country"

SHOWN_VALUE_LENGTH = 60


class NormalisationError(ValueError):
    """A value that cannot be read; str(exc) is the reason shown to the user, e.g. "unparsable date '31/02/2024'"."""

    def __init__(self, reason: str, value: str | None = None) -> None:
        self.reason = reason
        self.value = value
        if value is None:
            super().__init__(reason)
            return
        shown = value if len(value) <= SHOWN_VALUE_LENGTH else value[: SHOWN_VALUE_LENGTH - 1] + "…"
        super().__init__(f"{reason} {shown!r}")


# ---------------------------------------------------------------------------------------------------------------------
# Text, codes and keys


def normalise_text(value: str | None) -> str:
    """Strip, collapse every run of whitespace (newlines and no-break spaces included) to one space, Unicode NFC."""
    if not value:
        return ""
    # normalize() returns its argument at once when a quick check shows it is already NFC (the usual case).
    return unicodedata.normalize("NFC", " ".join(value.split()))


def normalise_code(value: str | None) -> str:
    """SKUs, receipt ids, external ids: strip and collapse whitespace, nothing else (case and characters are kept)."""
    if not value:
        return ""
    return " ".join(value.split())


_TRANSLITERATE = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th"})
_NON_ALNUM_RUN = re.compile(r"[\W_]+")


def _strip_accents(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).translate(_TRANSLITERATE)


@lru_cache(maxsize=4096)
def _key(value: str) -> str:
    return _NON_ALNUM_RUN.sub("_", _strip_accents(value.casefold())).strip("_")


def normalise_key(value: str | None) -> str:
    """Category / purpose / channel keys: "Épicerie fine" -> "epicerie_fine", "Fresh Food" -> "fresh_food"."""
    if not value:
        return ""
    return _key(value)


@lru_cache(maxsize=4096)
def _fold(value: str) -> str:
    """Lookup form of a label: accents removed, case folded, only letters and digits ("Royaume-Uni" -> "royaumeuni")."""
    return "".join(char for char in _strip_accents(value.casefold()) if char.isalnum())


# ---------------------------------------------------------------------------------------------------------------------
# Contact details


# local@domain.tld: one @, no whitespace, dot-separated non-empty labels (so no leading, trailing or doubled dot),
# a top-level domain of two characters or more. Every group ends on a literal dot, so matching is linear.
_EMAIL_ATOM = r"[^@\s.<>()\[\]\\,;:\"]+"
_EMAIL = re.compile(rf"(?:{_EMAIL_ATOM}\.)*{_EMAIL_ATOM}@(?:{_EMAIL_ATOM}\.)+[^@\s.<>()\[\]\\,;:\"]{{2,}}")


def normalise_email(value: str | None) -> str:
    """Trimmed, lower-cased, NFC e-mail address, without a "mailto:" prefix; "" when empty."""
    if not value:
        return ""
    email = unicodedata.normalize("NFC", value.strip().lower())
    if email.startswith("mailto:"):
        email = email[7:].lstrip()
    if not email:
        return ""
    if _EMAIL.fullmatch(email) is None:
        raise NormalisationError(INVALID_EMAIL, value)
    return email


@lru_cache(maxsize=65536)
def _phone_e164(value: str, region: str) -> str | None:
    """E.164 form, or None when the number is impossible (cached both ways: the same bad numbers recur too)."""
    try:
        number = phonenumbers.parse(value, region or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_phone(value: str | None, region: str = "FR") -> str:
    """E.164 ("+33612345678"); national numbers are read in `region`; "" when empty. An extension is dropped."""
    if not value:
        return ""
    text = value.strip()
    if not text:
        return ""
    e164 = _phone_e164(text, region)
    if e164 is None:
        raise NormalisationError(INVALID_PHONE, value)
    return e164


# ---------------------------------------------------------------------------------------------------------------------
# Names


_NAME_PARTICLES = frozenset({"de", "du", "des", "la", "le", "van", "von", "der", "di", "da"})
_SPACED_HYPHEN = re.compile(r" ?- ?")
_APOSTROPHE = re.compile(r"(['’])")


def _capitalise(part: str) -> str:
    """'o'neil' -> 'O'Neil': each piece between apostrophes gets a capital."""
    if "'" not in part and "’" not in part:
        return part[:1].upper() + part[1:].lower()
    pieces = _APOSTROPHE.split(part)
    return "".join(piece if index % 2 else piece[:1].upper() + piece[1:].lower() for index, piece in enumerate(pieces))


def _title_part(part: str, first: bool) -> str:
    lower = part.lower()
    if first:
        return _capitalise(part)
    if lower in _NAME_PARTICLES:
        return lower
    if len(lower) > 2 and lower[0] == "d" and lower[1] in "'’":
        return lower[:2] + _capitalise(part[2:])  # the particle "d'": "JEAN D'ORMESSON" -> "Jean d'Ormesson"
    return _capitalise(part)


@lru_cache(maxsize=65536)
def _name(value: str) -> str:
    text = _SPACED_HYPHEN.sub("-", normalise_text(value))
    if not (text.isupper() or text.islower()):
        return text  # mixed case was typed on purpose (McDonald, van der Berg): keep it
    words = []
    for word_index, word in enumerate(text.split(" ")):
        parts = word.split("-")
        words.append("-".join(_title_part(part, word_index == 0 and index == 0) for index, part in enumerate(parts)))
    return " ".join(words)


def normalise_name(value: str | None) -> str:
    """First and last names: "JEAN DE LA FONTAINE" -> "Jean de la Fontaine", "jean - pierre" -> "Jean-Pierre".

    Only all-upper or all-lower values are re-cased; accents are kept.
    """
    if not value:
        return ""
    return _name(value)


# ---------------------------------------------------------------------------------------------------------------------
# Gender, country, postcode


FEMALE, MALE, OTHER_GENDER, UNKNOWN = "f", "m", "x", ""

# Keys are folded (see _fold): "Mme." -> "mme", "non-binary" -> "nonbinary", "n/a" -> "na"; punctuation alone ("-")
# folds to "" and means unknown, like an empty cell.
_GENDERS = {
    **dict.fromkeys(
        ("f", "female", "woman", "femme", "mme", "madame", "mrs", "ms", "miss", "w", "mlle", "mademoiselle", "feminin"),
        FEMALE,
    ),
    **dict.fromkeys(("m", "male", "man", "homme", "mr", "monsieur", "h", "masculin"), MALE),
    **dict.fromkeys(("x", "other", "autre", "nb", "nonbinary", "nonbinaire", "divers", "d"), OTHER_GENDER),
    **dict.fromkeys(("", "unknown", "u", "inconnu", "na"), UNKNOWN),
}


def normalise_gender(value: str | None) -> str:
    """One of f, m, x (other / non-binary) or "" (unknown), from English, French and German words and civilities."""
    if not value:
        return UNKNOWN
    gender = _GENDERS.get(_fold(value))
    if gender is None:
        raise NormalisationError(UNKNOWN_GENDER, value)
    return gender


# Every officially assigned ISO 3166-1 alpha-2 code (249).
_ISO_ALPHA2_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO
    FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE
    JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO
    MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM
    TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
_ISO_ALPHA2 = frozenset(_ISO_ALPHA2_CODES.split())

# The countries retail customers most often come from: alpha-2, alpha-3, then names (English; French; local) by ";".
_COUNTRY_TABLE = """
FR FRA France; République française
BE BEL Belgium; Belgique; België; Belgien
DE DEU Germany; Allemagne; Deutschland
ES ESP Spain; Espagne; España
IT ITA Italy; Italie; Italia
GB GBR United Kingdom; UK; Great Britain; Britain; England; Scotland; Wales; Northern Ireland; Royaume-Uni;\
 Grande-Bretagne; Angleterre; Écosse; Pays de Galles; Irlande du Nord
CH CHE Switzerland; Suisse; Schweiz; Svizzera
LU LUX Luxembourg; Luxemburg
NL NLD Netherlands; The Netherlands; Holland; Pays-Bas; Hollande; Nederland
PT PRT Portugal
US USA United States; United States of America; America; États-Unis; États-Unis d'Amérique; Amérique
CA CAN Canada
IE IRL Ireland; Irlande; Éire
AT AUT Austria; Autriche; Österreich
DK DNK Denmark; Danemark; Danmark
SE SWE Sweden; Suède; Sverige
NO NOR Norway; Norvège; Norge
FI FIN Finland; Finlande; Suomi
IS ISL Iceland; Islande; Ísland
PL POL Poland; Pologne; Polska
CZ CZE Czechia; Czech Republic; Tchéquie; République tchèque; Česko
SK SVK Slovakia; Slovaquie; Slovensko
HU HUN Hungary; Hongrie; Magyarország
RO ROU Romania; Roumanie; România
BG BGR Bulgaria; Bulgarie
GR GRC Greece; Grèce; Hellas
HR HRV Croatia; Croatie; Hrvatska
SI SVN Slovenia; Slovénie; Slovenija
EE EST Estonia; Estonie; Eesti
LV LVA Latvia; Lettonie; Latvija
LT LTU Lithuania; Lituanie; Lietuva
CY CYP Cyprus; Chypre
MT MLT Malta; Malte
MC MCO Monaco
AD AND Andorra; Andorre
LI LIE Liechtenstein
SM SMR San Marino; Saint-Marin
VA VAT Vatican; Vatican City; Holy See; Cité du Vatican; Saint-Siège
RU RUS Russia; Russian Federation; Russie; Fédération de Russie
UA UKR Ukraine
TR TUR Turkey; Türkiye; Turquie
MA MAR Morocco; Maroc
DZ DZA Algeria; Algérie
TN TUN Tunisia; Tunisie
SN SEN Senegal; Sénégal
CI CIV Ivory Coast; Côte d'Ivoire
CM CMR Cameroon; Cameroun
EG EGY Egypt; Égypte
ZA ZAF South Africa; Afrique du Sud
IL ISR Israel; Israël
AE ARE United Arab Emirates; UAE; Émirats arabes unis
SA SAU Saudi Arabia; Arabie saoudite
CN CHN China; Chine
JP JPN Japan; Japon
KR KOR South Korea; Korea; Republic of Korea; Corée du Sud; Corée
IN IND India; Inde
SG SGP Singapore; Singapour
HK HKG Hong Kong
VN VNM Vietnam; Viet Nam
TH THA Thailand; Thaïlande
AU AUS Australia; Australie
NZ NZL New Zealand; Nouvelle-Zélande
BR BRA Brazil; Brésil; Brasil
MX MEX Mexico; Mexique; México
AR ARG Argentina; Argentine
CL CHL Chile; Chili
CO COL Colombia; Colombie
PE PER Peru; Pérou
GP GLP Guadeloupe
MQ MTQ Martinique
GF GUF French Guiana; Guyane; Guyane française
RE REU Réunion; La Réunion
YT MYT Mayotte
NC NCL New Caledonia; Nouvelle-Calédonie
PF PYF French Polynesia; Polynésie française
PM SPM Saint Pierre and Miquelon; Saint-Pierre-et-Miquelon
"""


def _country_lookup() -> dict[str, str]:
    """Folded label -> alpha-2; built once at import, and refuses a label that would name two countries."""
    lookup = {_fold(code): code for code in _ISO_ALPHA2}
    for line in _COUNTRY_TABLE.strip().splitlines():
        alpha2, alpha3, names = line.split(" ", 2)
        for label in (alpha3, *map(str.strip, names.split(";"))):
            folded = _fold(label)
            if lookup.setdefault(folded, alpha2) != alpha2:
                raise ValueError(f"country label {label!r} is ambiguous")  # a mistake in the table above
    return lookup


_COUNTRIES = _country_lookup()


def normalise_country(value: str | None, default: str = "") -> str:
    """ISO 3166-1 alpha-2 ("FR") from alpha-2, alpha-3 or a common English / French / local name; "" -> `default`."""
    if not value:
        return default
    text = value.strip()
    if not text:
        return default
    if len(text) == 2 and text.upper() in _ISO_ALPHA2:  # the usual case, without folding
        return text.upper()
    country = _COUNTRIES.get(_fold(text))
    if country is None:
        raise NormalisationError(UNKNOWN_COUNTRY, value)
    return country


def normalise_postcode(value: str | None, country: str = "") -> str:
    """Strip, upper-case, collapse spaces. French codes ("75 001", "1000") become five digits ("75001", "01000").

    Spreadsheets drop the leading zero of French codes such as 01000, hence the padding of four digits (FR only).
    A French value that is not all digits once spaces, dots and hyphens are gone ("75008 CEDEX") is kept as typed.
    """
    if not value:
        return ""
    text = " ".join(value.split()).upper()
    if country.upper() == "FR":
        digits = text.replace(" ", "").replace(".", "").replace("-", "")
        if digits.isascii() and digits.isdigit():
            return digits.zfill(5) if len(digits) == 4 else digits
    return text


# ---------------------------------------------------------------------------------------------------------------------
# Dates and timestamps


# Fast path for date formats made only of these directives and literal separators (e.g. "%d/%m/%Y %H:%M"): a regex
# and int() are several times faster than datetime.strptime, which runs pure-Python code on every call.
_FAST_DIRECTIVES = {"Y": r"(\d{4})", "y": r"(\d{2})", "m": r"(\d{1,2})", "d": r"(\d{1,2})"}
_FAST_DIRECTIVES.update(H=r"(\d{1,2})", M=r"(\d{1,2})", S=r"(\d{1,2})")
_DIRECTIVE = re.compile(r"%(.)")
_BLANKS = re.compile(r"\s+")


@lru_cache(maxsize=64)
def _fast_format(date_format: str) -> tuple[re.Pattern[str], itemgetter, bool] | None:
    """For a simple format: its regex (as lenient as strptime's), a getter of year, month, day, hour, minute and second
    from the match's groups followed by "0" (for those absent), and whether the year has two digits.

    None leaves the format to strptime.
    """
    fields = _DIRECTIVE.findall(date_format)
    if not set(fields) <= _FAST_DIRECTIVES.keys() or len(set(fields)) < len(fields):
        return None
    if "d" not in fields or "m" not in fields or ("Y" in fields) == ("y" in fields):
        return None
    literals = _DIRECTIVE.split(date_format)[::2]
    # Like strptime, a blank in the format matches any run of whitespace.
    pattern = "".join(
        r"\s+".join(map(re.escape, _BLANKS.split(literal))) + _FAST_DIRECTIVES.get(field, "")
        for literal, field in zip(literals, (*fields, ""), strict=True)
    )
    order = "YmdHMS" if "Y" in fields else "ymdHMS"
    positions = itemgetter(*(fields.index(field) if field in fields else -1 for field in order))
    return re.compile(pattern, re.ASCII | re.IGNORECASE), positions, "y" in fields


def _strptime(text: str, date_format: str, tz: tzinfo | None) -> datetime:
    """datetime.strptime(text, date_format) in `tz` (unless the format has %z), with a fast path; ValueError like it."""
    fast = _fast_format(date_format)
    if fast is None:
        moment = datetime.strptime(text, date_format)  # noqa: DTZ007 - the zone is attached below
        return moment if moment.tzinfo is not None or tz is None else datetime.combine(moment, moment.time(), tz)
    pattern, positions, two_digit_year = fast
    match = pattern.fullmatch(text)
    if match is None:
        raise ValueError(text)
    year, month, day, hour, minute, second = map(int, positions((*match.groups(), "0")))  # -1 reads the final "0"
    if two_digit_year:
        year += 2000 if year < 69 else 1900  # strptime's pivot
    return datetime(year, month, day, hour, minute, second, 0, tz)


def parse_date(value: str | None, date_format: str | None = None) -> date | None:
    """A calendar date: ISO 8601 by default (a full timestamp gives its own date), else `date_format` (strftime)."""
    if not value:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        if date_format:
            return _strptime(text, date_format, None).date()
        try:
            return date.fromisoformat(text)
        except ValueError:
            return datetime.fromisoformat(text).date()
    except ValueError as exc:
        raise NormalisationError(UNPARSABLE_DATE, value) from exc


def parse_timestamp(value: str | None, tz: tzinfo, date_format: str | None = None) -> datetime | None:
    """An aware datetime: ISO 8601 by default, else `date_format`; a date alone is midnight; naive means local in `tz`.

    A timestamp with an offset keeps it (no conversion). Naive wall times get `tz` with fold=0, which for zoneinfo
    means: an ambiguous time (the repeated hour in autumn) is its first occurrence, summer time; a time that does
    not exist (the skipped hour in spring) is read with the offset in force before the change, so Paris 02:30 on
    2025-03-30 is 01:30 UTC, i.e. 03:30 summer time.
    """
    if not value:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        if date_format:
            return _strptime(text, date_format, tz)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise NormalisationError(UNPARSABLE_TIMESTAMP, value) from exc
    if moment.tzinfo is None:
        # combine(), not replace(tzinfo=tz): the same result (fold kept) at a quarter of the cost in CPython 3.11.
        return datetime.combine(moment, moment.time(), tz)
    return moment


# ---------------------------------------------------------------------------------------------------------------------
# Numbers


_NUMBER_EDGES = " \t\r\n\xa0\u2009\u202f€$£"  # blanks and currency symbols ignored around a number (and its sign)
_MAX_NUMBER_LENGTH = 64  # also keeps int() far below its 4300-digit limit
# Thousands groups: 1 to 3 digits, then groups of exactly 3, always with the same separator.
_GROUPED_DECIMAL_POINT = re.compile(r"\d{1,3}([, \u00a0\u2009\u202f'’])\d{3}(?:\1\d{3})*", re.ASCII)
_GROUPED_DECIMAL_COMMA = re.compile(r"\d{1,3}([. \u00a0\u2009\u202f'’])\d{3}(?:\1\d{3})*", re.ASCII)
_DROP_SEPARATORS = str.maketrans("", "", ",. \u00a0\u2009\u202f'’")


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # isdigit() alone accepts "²" and Arabic-Indic digits


def _split_number(value: str, decimal_comma: bool) -> tuple[bool, str, str]:
    """(negative, integer digits, fraction digits) of a decimal written by a person or a spreadsheet."""
    text = value.strip(_NUMBER_EDGES)
    if len(text) > _MAX_NUMBER_LENGTH:
        raise NormalisationError(UNPARSABLE_NUMBER, value)
    negative = False
    if text[:1] in ("-", "+", "−"):
        negative = text[0] != "+"
        text = text[1:].lstrip(_NUMBER_EDGES)
    whole, _, fraction = text.partition("," if decimal_comma else ".")
    if whole and not _is_digits(whole):
        grouped = (_GROUPED_DECIMAL_COMMA if decimal_comma else _GROUPED_DECIMAL_POINT).fullmatch(whole)
        if grouped is None:
            raise NormalisationError(UNPARSABLE_NUMBER, value)
        whole = whole.translate(_DROP_SEPARATORS)
    if (fraction and not _is_digits(fraction)) or not (whole or fraction):
        raise NormalisationError(UNPARSABLE_NUMBER, value)
    return negative, whole, fraction


def _round_half_even(kept: int, dropped: str) -> int:
    """`kept` plus one when the dropped digits are more than half, or exactly half and `kept` is odd."""
    if dropped[0] > "5" or (dropped[0] == "5" and (dropped[1:].strip("0") or kept % 2)):
        return kept + 1
    return kept


def parse_decimal_minor(value: str | None, *, decimal_comma: bool = False, exponent: int = 2) -> int | None:
    """An exact decimal in minor units ("12.34" -> 1234 with exponent 2), rounded half to even past `exponent`.

    Currency symbols and blanks around the number are ignored. Thousands separators: with `decimal_comma`,
    blank, no-break or thin spaces, apostrophe or dot ("1 234,56", "1.234,56"); without it, comma, blanks or apostrophe
    ("1,234.56"), only between groups of exactly three digits, so "12,34" without `decimal_comma` is refused.
    """
    if not value or value.isspace():
        return None
    negative, whole, fraction = _split_number(value, decimal_comma)
    if len(fraction) <= exponent:
        minor = int(whole + fraction.ljust(exponent, "0"))  # one int() on the digits: no float, no Decimal
    else:
        minor = _round_half_even(int(whole + fraction[:exponent] or "0"), fraction[exponent:])
    return -minor if negative else minor


def parse_integer(value: str | None, *, decimal_comma: bool = False) -> int | None:
    """A whole number: "3", "-1", "1,234", "2.0" (or "2,0" with `decimal_comma`); "2.5" is refused."""
    if not value or not (text := value.strip()):
        return None
    if _is_digits(text):  # the usual case
        return int(text)
    negative, whole, fraction = _split_number(value, decimal_comma)
    if fraction.strip("0"):
        raise NormalisationError(NOT_AN_INTEGER, value)
    number = int(whole or "0")
    return -number if negative else number
