"""Matching features of a person record: folded names, phonetic keys, address keys, blocking keys (pure functions).

Everything here is computed from the normalised fields the importers store (``cdp.normalise``), so the same values
are produced at import (the stored blocking keys that incremental matching queries) and by a full re-run.
Nothing depends on a source's name or id format.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_TRANSLITERATE = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ß": "ss"})
_NON_ALNUM = re.compile(r"[^0-9a-z]+")

# Street types and their usual abbreviations (French and English), folded: the key keeps the full word.
_STREET_TYPES = {
    "r": "rue",
    "rue": "rue",
    "av": "avenue",
    "ave": "avenue",
    "avenue": "avenue",
    "bd": "boulevard",
    "bld": "boulevard",
    "blvd": "boulevard",
    "boul": "boulevard",
    "boulevard": "boulevard",
    "all": "allee",
    "allee": "allee",
    "imp": "impasse",
    "impasse": "impasse",
    "ch": "chemin",
    "chem": "chemin",
    "chemin": "chemin",
    "pl": "place",
    "place": "place",
    "rte": "route",
    "route": "route",
    "q": "quai",
    "quai": "quai",
    "crs": "cours",
    "cours": "cours",
    "sq": "square",
    "square": "square",
    "fbg": "faubourg",
    "faubourg": "faubourg",
    "rd": "road",
    "road": "road",
    "ln": "lane",
    "lane": "lane",
    "dr": "drive",
    "drive": "drive",
    "street": "street",
}
# Street types that follow the street's name (English, German), folded, with their usual abbreviations.
_TRAILING_STREET_TYPES = {
    "st": "street",
    "street": "street",
    "rd": "road",
    "road": "road",
    "ave": "avenue",
    "av": "avenue",
    "avenue": "avenue",
    "dr": "drive",
    "drv": "drive",
    "drive": "drive",
    "ln": "lane",
    "lane": "lane",
    "ct": "court",
    "crt": "court",
    "court": "court",
    "pl": "place",
    "place": "place",
    "cres": "crescent",
    "cr": "crescent",
    "crescent": "crescent",
    "pde": "parade",
    "parade": "parade",
    "cl": "close",
    "close": "close",
    "tce": "terrace",
    "terrace": "terrace",
    "hwy": "highway",
    "highway": "highway",
    "blvd": "boulevard",
    "boulevard": "boulevard",
    "sq": "square",
    "square": "square",
    "str": "strasse",
    "strasse": "strasse",
    "weg": "weg",
    "gasse": "gasse",
    "platz": "platz",
}
_ADDRESS_STOPWORDS = frozenset({"de", "du", "des", "la", "le", "les", "l", "d", "the", "of", "a"})
_HOUSE_NUMBER = re.compile(r"^(\d+)\s*(bis|ter|quater|[a-d])?\b")
# A house number written after the street ("Hauptstrasse 12", "Clover Road 29a"), as many countries write it.
_TRAILING_HOUSE_NUMBER = re.compile(r"\s(\d+)\s*(bis|ter|quater|[a-d])?$")
# A German street name with its type fused to it ("hauptstr", "hauptstrasse", "hauptstraße" folded to "strasse").
_FUSED_STRASSE = re.compile(r"^(\w+?)(str|strasse)$")

# Suffixes that turn a French given name into its feminine form (Louis/Louise, Jean/Jeanne, Daniel/Danielle):
# a prefix that only lacks one of them names another person, not a short form.
_FEMININE_SUFFIXES = ("e", "ne", "le", "te", "tte", "ette", "ine")


@lru_cache(maxsize=65536)
def fold(value: str | None) -> str:
    """Lower-case ASCII words separated by single spaces: "Jean-Pierre" -> "jean pierre", "L'Église" -> "l eglise"."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    text = "".join(char for char in decomposed if not unicodedata.combining(char)).translate(_TRANSLITERATE)
    return _NON_ALNUM.sub(" ", text).strip()


_SOUNDEX = str.maketrans("bfpvcgjkqsxzdtlmnr", "111122222222334556")


@lru_cache(maxsize=65536)
def phonetic(value: str | None) -> str:
    """A Soundex code of the folded value (all words joined): spelling variants of a name share it."""
    letters = fold(value).replace(" ", "")
    letters = "".join(char for char in letters if char.isalpha())
    if not letters:
        return ""
    codes = letters.translate(_SOUNDEX)
    out, previous = [letters[0]], codes[0]
    for char, code in zip(letters[1:], codes[1:], strict=True):
        if code.isdigit() and code != previous:
            out.append(code)
        if char not in "hw":  # h and w do not separate two equal codes
            previous = code
    return "".join(out)[:4].ljust(4, "0")


def initials(name: str) -> str:
    """Initials of a folded name of two words or more ("jean pierre" -> "jp"); "" for a single word."""
    words = name.split()
    return "".join(word[0] for word in words) if len(words) > 1 else ""


# Words that open an address complement (a flat, a floor, a building, a door, "care of"), folded, in the languages
# customer files are written in: "3e étage", "Apt 12", "Bât A", "Flat 2", "2nd floor", "Whg. 4", "Piso 3".
_COMPLEMENT_WORDS = frozenset(
    {
        # French
        "apt", "appt", "app", "appart", "appartement", "bat", "batiment", "esc", "escalier", "etage", "porte",
        "residence", "res", "chez", "logement", "lgt",
        # English
        "flat", "unit", "suite", "ste", "apartment", "floor", "fl", "building", "bldg", "room", "rm", "level",
        # German, Dutch, Italian, Spanish
        "wohnung", "whg", "stock", "og", "eg", "gebaude", "zimmer", "verdieping", "piano", "scala", "interno",
        "piso", "puerta", "planta",
    }
)  # fmt: skip
# A house number, a floor's ordinal or a flat's number ("12", "7b", "3e", "2nd"): skipped to find a part's first word.
_NUMBERISH = re.compile(r"^\d+[a-z]{0,3}$")


def _is_complement(part: str) -> bool:
    """Whether a comma-separated part of an address is a complement ("3e étage", "Bât A, esc. 2"), not the street."""
    for word in fold(part).split():
        if not _NUMBERISH.match(word):
            return word in _COMPLEMENT_WORDS
    return False


def _street_line(address: str) -> str:
    """The part of an address that holds the house number and the street; complements on their own part are left,
    whether they come before the street or after it ("3e étage, 5 rue Émile Zola" -> "5 rue Émile Zola")."""
    parts = [part.strip() for part in address.split(",") if part.strip()]
    streets = [part for part in parts if not _is_complement(part)] or parts
    for part in streets:
        if part[:1].isdigit():
            return part
    return streets[0] if streets else ""


@lru_cache(maxsize=65536)
def address_key(address: str | None) -> str:
    """ "19 AV. DE LA LIBERTE, Apt 12" -> "19 avenue liberte": house number, full street type, significant words.

    The same street written the ways countries write it gives one key: the house number before or after the street
    ("Clover Road 29" and "29 Clover Rd" -> "29 clover road"), the type before the name (French) or after it
    (English, German), abbreviated or not ("Hauptstr. 12" and "Hauptstraße 12" -> "12 haupt strasse").
    """
    if not address:
        return ""
    line = fold(_street_line(address))
    number = ""
    match = _HOUSE_NUMBER.match(line)
    if match:
        number = match.group(1) + (match.group(2) or "")
        line = line[match.end() :]
    else:
        match = _TRAILING_HOUSE_NUMBER.search(line)
        if match:
            number = match.group(1) + (match.group(2) or "")
            line = line[: match.start()]
    words = line.split()
    if words and words[0] in _STREET_TYPES:
        words[0] = _STREET_TYPES[words[0]]
    elif words:
        fused = _FUSED_STRASSE.match(words[-1])
        if fused and len(fused.group(1)) >= 3:
            words[-1:] = [fused.group(1), "strasse"]
        elif len(words) >= 2 and words[-1] in _TRAILING_STREET_TYPES:
            words[-1] = _TRAILING_STREET_TYPES[words[-1]]
    words = [word for word in words if word not in _ADDRESS_STOPWORDS]
    return " ".join(part for part in (number, *words) if part)


def email_local(email: str | None) -> str:
    """The local part of a normalised e-mail address without dots, hyphens or underscores."""
    if not email or "@" not in email:
        return ""
    local = email.rsplit("@", 1)[0].split("+", 1)[0]
    return re.sub(r"[._\-]", "", local)


def email_residue(local: str, first: str, last: str) -> str:
    """What an e-mail local part holds beyond the person's names ("melaniechevallier76" -> "76").

    A local part made of the names only says the names again: the model compares names already, so such a local
    part must not count a second time as evidence.
    """
    if not local:
        return ""
    residue = local
    names = {*first.split(), *last.split(), first.replace(" ", ""), last.replace(" ", "")}
    tokens = sorted(names, key=len, reverse=True)
    for token in tokens:
        if len(token) >= 2:
            residue = residue.replace(token, "", 1)
    # A name mistyped in the record is left behind spelt right ("alicedurand" for "Aliec Durand"): still the name.
    residue = _LETTERS.sub(lambda run: "" if _near_name(run.group(), tokens) else run.group(), residue)
    for token in (initials(first), first[:1]):
        if token and residue.startswith(token):
            return residue[len(token) :]
    return residue


_TRAILING_DIGITS = re.compile(r"(\d+)$")
_LETTERS = re.compile(r"[a-z]+")


def _near_name(letters: str, names: list[str]) -> bool:
    """Whether a run of letters is one of the names with one typing slip (names of four letters or more)."""
    return len(letters) >= 4 and any(len(name) >= 4 and _one_edit(letters, name) for name in names)


def _year_digits(residue: str) -> str:
    """The two last digits of a year that ends an e-mail residue ("76", "1976" -> "76"), else ""."""
    match = _TRAILING_DIGITS.search(residue)
    if not match:
        return ""
    digits = match.group(1)
    if len(digits) == 4 and digits[:2] in ("19", "20"):
        return digits[2:]
    return digits if len(digits) == 2 else ""


def given_names_compatible(left: str, right: str) -> bool:
    """Whether two folded given names can name the same person: equal, a short form, initials, or a one-letter slip.

    Compatible: "jean pierre"/"jean", "alex"/"alexandre", "jp"/"jean pierre", "morgane"/"motgane".
    Not compatible: "louis"/"louise", "jean"/"jeanne" (a feminine form), "jean pierre"/"jean claude".
    """
    if not left or not right or left == right:
        return True
    if left.replace(" ", "") == right.replace(" ", ""):
        return True
    if initials(left) == right.replace(" ", "") or initials(right) == left.replace(" ", ""):
        return True
    short, long_ = sorted((left, right), key=len)
    short_words, long_words = short.split(), long_.split()
    if len(short_words) == 1 and short in long_words:
        return True  # "jean" / "jean pierre", "marie" / "anne marie"
    if len(short_words) == 1 and len(long_words) == 1 and len(short) >= 3 and long_.startswith(short):
        return long_[len(short) :] not in _FEMININE_SUFFIXES
    if len(left) == len(right):
        return len(short) >= 4 and _one_edit(left, right)  # "leo" / "lea" are two names, not a slip
    return len(long_) >= 4 and _one_edit(left, right)  # a letter left out: "loa" / "lola", "ze" / "zoe" is too short


def _one_edit(left: str, right: str) -> bool:
    """At most one substitution, insertion, deletion or adjacent transposition."""
    if abs(len(left) - len(right)) > 1:
        return False
    if len(left) == len(right):
        diffs = [i for i, (a, b) in enumerate(zip(left, right, strict=True)) if a != b]
        if len(diffs) <= 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and left[diffs[0]] == right[diffs[1]]
            and left[diffs[1]] == right[diffs[0]]
        )
    short, long_ = sorted((left, right), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def names_one_slip_apart(left: str, right: str) -> bool:
    """Two names one typing slip apart that can be one name ("lumy" / "lucy"; not "louis" / "louise", "leo" / "lea")."""
    return bool(left and right and left != right and _one_edit(left, right) and given_names_compatible(left, right))


def phones_one_slip_apart(left: str, right: str) -> bool:
    """Two phone numbers of one length that differ by one digit or two adjacent digits swapped (a typing slip)."""
    return bool(left and right and left != right and len(left) == len(right) and _one_edit(left, right))


def birth_dates_compatible(left: dt.date | None, right: dt.date | None) -> bool:
    """Equal, or one typing slip apart: day and month swapped, two adjacent digits swapped, or one digit wrong."""
    if left is None or right is None or left == right:
        return True
    a, b = left.isoformat(), right.isoformat()
    if left.day <= 12 and left.replace(day=1).replace(month=left.day, day=left.month) == right:
        return True
    return _one_edit(a, b)


@dataclass(frozen=True)
class Features:
    """What the matcher compares, for one source record."""

    fn: str
    ln: str
    fn_ph: str
    ln_ph: str
    fn_initials: str
    dob: str
    dob_year: str
    dob_swapped: str
    email: str
    email_local: str
    email_residue: str
    email_year: str
    dob_yy: str
    phone: str
    addr: str
    addr_number: str
    postcode: str
    city: str
    gender: str
    postcode_area: str = ""
    # Filled from the whole record set (``cdp.identity.services``): learned aliases of the given name
    # ("|name|alias|"), how common the phonetic full name is ("1" rare, "2" uncommon, "3" common), and the
    # phonetic full name when it is rare enough to block on alone.
    fn_aliases: str = ""
    name_freq: str = ""
    name_rare: str = ""
    name_capped: str = ""  # the phonetic full name unless it is common
    email_mailbox: str = ""  # the e-mail local part when it holds more than the names (3 characters or more)


def features_with(features: Features, **changes: str) -> Features:
    """A copy of `features` with some fields changed: ``dataclasses.replace`` without its per-call introspection
    (it runs for every record of a resolution, and for every candidate of an import)."""
    copied = object.__new__(Features)
    copied.__dict__.update(features.__dict__)
    copied.__dict__.update(changes)
    return copied


def name_key(features: Features) -> str:
    """The phonetic full name (family then given), the key name frequencies are counted on ("" without both)."""
    return features.ln_ph + features.fn_ph if features.ln_ph and features.fn_ph else ""


def record_features(
    *,
    first_name: str,
    last_name: str,
    email: str,
    phone: str,
    birth_date: dt.date | None,
    gender: str,
    address: str,
    postcode: str,
    city: str,
) -> Features:
    fn, ln = fold(first_name), fold(last_name)
    local = email_local(email)
    addr = address_key(address)
    residue = email_residue(local, fn, ln)
    dob = birth_date.isoformat() if birth_date else ""
    swapped = ""
    if birth_date and birth_date.day <= 12 and birth_date.day != birth_date.month:
        swapped = f"{birth_date.year:04d}-{birth_date.day:02d}-{birth_date.month:02d}"
    return Features(
        fn=fn,
        ln=ln,
        fn_ph=phonetic(fn),
        ln_ph=phonetic(ln),
        fn_initials=initials(fn),
        dob=dob,
        dob_year=dob[:4],
        dob_swapped=swapped,
        email=email or "",
        email_local=local,
        email_residue=residue,
        email_year=_year_digits(residue),
        dob_yy=dob[2:4],
        phone=phone or "",
        addr=addr,
        addr_number=addr.split(" ", 1)[0] if addr[:1].isdigit() else "",
        postcode=(postcode or "").replace(" ", "").upper(),
        city=fold(city),
        gender=gender or "",
        postcode_area=_postcode_area(postcode),
        email_mailbox=local if len(residue) >= 3 else "",
    )


def _postcode_area(postcode: str | None) -> str:
    """The first two characters of a postcode: the district (a French département, a British postcode area)."""
    compact = (postcode or "").replace(" ", "").upper()
    return compact[:2] if len(compact) >= 4 else ""
