"""Values some sources write in capitals ("PARIS", "29 ALL. DES JARDINS", "JEAN-PIERRE"), in the case people write.

Loyalty and till systems often keep names and addresses in capitals. Survivorship (cdp.identity.golden) takes the
spelling of a source that writes a value in mixed case when the sources agree on it; when every source shouts it,
the golden record takes it in this readable case: each word capitalised ("Jean-Pierre", "O'Neil", "Saint-Étienne"),
the little words of French and other names in lower case inside a value ("Rue de la Paix", "Aix-en-Provence"),
"bis" and "ter" after a house number, and abbreviations kept with their dot ("All.", "Av.").
"""

from __future__ import annotations

import re

CASED_FIELDS = frozenset({"first_name", "last_name", "address", "city"})
PARTICLES = frozenset(
    [
        "de",
        "du",
        "des",
        "d",
        "la",
        "le",
        "les",
        "l",
        "et",
        "en",
        "sur",
        "sous",
        "aux",
        "au",
        "lès",
        "van",
        "von",
        "der",
        "den",
        "di",
        "da",
        "del",
        "dos",
        "y",
    ]
)  # lower case inside a value: "Rue de la Paix", "Aix-en-Provence", "Van der Berg"
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


# ASCII characters that are not letters, deleted to count a text's letters (survivorship asks of every value)
_ASCII_NON_LETTERS = str.maketrans("", "", "".join(chr(code) for code in range(128) if not chr(code).isalpha()))


def shouting(value: object) -> bool:
    """A text of two letters or more with no lower-case letter ("PARIS", "29 ALL. DES JARDINS")."""
    if not isinstance(value, str):
        return False
    if value.isascii():
        # the same answer without a loop in Python: in ASCII, only a to z are lower case
        return value == value.upper() and len(value.translate(_ASCII_NON_LETTERS)) >= 2
    letters = [char for char in value if char.isalpha()]
    return len(letters) >= 2 and not any(char.islower() for char in letters)


def readable_case(field: str, value: object) -> object:
    """`value` in the case people write it when it is a name, an address or a city written in capitals; otherwise
    unchanged (a mixed-case value is the source's own choice, kept as written)."""
    if field not in CASED_FIELDS or not shouting(value):
        return value
    text = str(value).lower()
    parts = []
    position = 0
    for match in _WORD.finditer(text):
        word = match.group()
        inside = bool(parts)  # not the value's first word
        parts.append(
            text[position : match.start()] + (word if inside and word in PARTICLES else word[:1].upper() + word[1:])
        )
        position = match.end()
    # "12 Bis" -> "12 bis": a house number's suffix
    return _HOUSE_NUMBER_SUFFIX.sub(lambda m: f"{m.group(1)} {m.group(2).lower()}", "".join(parts) + text[position:])


_HOUSE_NUMBER_SUFFIX = re.compile(r"\b(\d+)\s*(Bis|Ter|Quater)\b")
