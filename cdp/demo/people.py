"""Person files in shapes other than the demo retailer's, with their truth: for trying identity resolution on data
it was not built on.

The people live in an English- and German-speaking country with four-digit postcodes; names, streets and towns come
from their own lists, not the demo's. A file is one source; a person can have several records in it (duplicates
inside one source) and records in other files (links across sources). Each duplicate carries a few of the slips real
exports hold: typing errors in names, given and family names swapped, a missing or mistyped birth date, day and
month swapped, an old address, a street written another way (an abbreviation, the house number after the street),
a mistyped postcode, a missing field. Which columns a file has is chosen by the caller (no e-mail, no phone, no
birth date...), so the same people can be written in any shape.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


GIVEN_F = _words(
    "Olivia Charlotte Amelia Isla Mia Ava Grace Chloe Sophie Emily Ruby Matilda Zoe Lily Hannah Ella Sienna Lucy "
    "Georgia Ivy Harper Evie Sarah Jessica Emma Laura Rebecca Rachel Megan Holly Alice Anna Claire Helen Julia Karen "
    "Kate Leah Maria Natalie Nicole Paige Rose Stella Tessa Vanessa Wendy Abigail Bridget Caitlin Daisy Eleanor "
    "Fiona Gemma Heidi Imogen Jasmine Kirsten Lauren Madeleine Naomi Phoebe Quinn Renee Savannah Tamara Ursula "
    "Violet Willow Yvonne Zara Annika Birgit Greta Ingrid Katrin Lena Monika Petra Sabine Ute"
)
GIVEN_M = _words(
    "Oliver Jack William Noah Thomas James Lucas Henry Ethan Samuel Liam Jacob Joshua Daniel Benjamin Charlie "
    "Harrison Max Alexander Isaac Leo Mason Archie Hugo Oscar Riley Ryan Matthew Andrew Michael David Christopher "
    "Joseph Luke Nathan Patrick Robert Scott Simon Stephen Timothy Adam Brendan Callum Declan Edward Finn Gregory "
    "Hamish Ivan Jonah Kieran Lachlan Marcus Neil Owen Peter Quentin Rhys Sebastian Trent Vincent Warren Xavier "
    "Zachary Bernd Dieter Florian Georg Holger Jens Klaus Lukas Markus Stefan Uwe Wolfgang"
)
FAMILY = _words(
    "Smith Jones Williams Brown Wilson Taylor Johnson White Martin Anderson Thompson Nguyen Thomas Walker Harris "
    "Lee Ryan Robinson Kelly King Davis Wright Evans Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis James "
    "Phillips Mitchell Turner Campbell Parker Edwards Collins Stewart Morris Murphy Cook Rogers Morgan Cooper "
    "Peterson Bailey Reed Kennedy Hughes Foster Fraser Gibson Grant Hamilton Hunter Jenkins Knight Lawson McDonald "
    "Marshall Mason Matthews Murray Newton Owen Palmer Pearce Porter Price Quinn Ramsay Reynolds Richards Russell "
    "Saunders Shaw Simpson Spencer Stevens Sullivan Sutton Tucker Wallace Ward Watson Webb Wells West Whitehead "
    "Williamson Young Abbott Ashworth Barker Bartlett Beckett Bishop Blackwell Bradshaw Brennan Burgess Caldwell "
    "Carmichael Chandler Crawford Dawson Donovan Doyle Drummond Ellison Fairbanks Fitzgerald Fleming Gallagher "
    "Goodwin Greenwood Hargreaves Hawkins Holloway Humphreys Kavanagh Kingsley Lambert Langford Lockwood Lowther "
    "Macpherson Maddox Merriweather Montgomery Northcott Pemberton Prescott Radcliffe Rowntree Sinclair Stanfield "
    "Thornton Treloar Underwood Vickers Wainwright Whitfield Yardley Zimmermann Schneider Fischer Weber Becker "
    "Hoffmann Schulz Koch Richter Wolf Schroeder Neumann Schwarz Braun Hofmann Hartmann Lange Krause Lehmann Kowalski "
    "Novak Horvat Rossi Romano Bianchi Ricci Marino Greco Bruno Gallo Conti Costa Giordano Mancini Lombardi Moretti "
    "Papadopoulos Ivanova Petrov Jansen Visser Bakker Smit Meijer Mulder Bos Vos Peters Hendriks Dekker"
)
STREETS = _words(
    "Stanley Victoria George Elizabeth Albert Church Park High Station Queen King Railway Bridge Mill School "
    "Hill Spring Forest River Lake Ocean Beach Garden Orchard Meadow Willow Acacia Banksia Wattle Cedar Maple Oak "
    "Elm Ash Birch Pine Rose Lavender Jasmine Heather Thistle Clover Harbour Anchor Seaview Ridge Valley Summit "
    "Sunset Sunrise Windsor Cambridge Oxford Durham Kent Sussex Devon Cornwall Lincoln Bedford Chester Warwick "
    "Salisbury Canterbury Macquarie Flinders Hume Sturt Mitchell Leichhardt Kingsford Florey Banks Cook Lawson"
)
STREET_TYPES = (("Street", "St"), ("Road", "Rd"), ("Avenue", "Ave"), ("Drive", "Dr"), ("Lane", "Ln"))
STREET_TYPES += (("Court", "Ct"), ("Place", "Pl"), ("Crescent", "Cres"), ("Parade", "Pde"), ("Close", "Cl"))
TOWNS = _words(
    "Ashgrove Balmoral Belmont Blackburn Bondi Brighton Camberwell Carlton Chatswood Clayton Coburg Cronulla "
    "Dandenong Doncaster Epping Essendon Fairfield Footscray Frankston Geelong Glenelg Hawthorn Heidelberg "
    "Hornsby Kew Kingsford Lakemba Leichhardt Malvern Manly Marrickville Mentone Mitcham Mosman Newtown Northcote "
    "Parramatta Penrith Prahran Preston Randwick Richmond Ringwood Rockdale Ryde Sandringham Seaford Strathfield "
    "Sunbury Toorak Waverley Werribee Whittlesea Williamstown Yarraville Bayswater Boxhill Croydon"
)

DEFAULT_COLUMNS = ("external_id", "first_name", "last_name", "birth_date", "address", "postcode", "city")
ALL_COLUMNS = (*DEFAULT_COLUMNS, "email", "phone", "gender", "country")
MAILBOXES = ("mail.example", "post.example", "inbox.example", "web.example")

# Slips a duplicate record can carry, with their relative weights.
SLIPS = {
    "given_typo": 4,
    "family_typo": 4,
    "names_swapped": 2,
    "given_missing": 1,
    "birth_missing": 2,
    "birth_typo": 2,
    "birth_day_month": 1,
    "moved": 2,
    "street_written_otherwise": 3,
    "street_typo": 2,
    "postcode_typo": 1,
    "city_missing": 1,
    "email_typo": 1,
    "email_missing": 1,
    "phone_missing": 1,
}


@dataclass(frozen=True)
class Person:
    person_id: str
    given: str
    family: str
    gender: str
    birth: dt.date
    number: str
    street: str
    street_type: int
    postcode: str
    town: str
    email: str
    phone: str


@dataclass(frozen=True)
class Record:
    """One row of a file, as written: strings in the contract's column names."""

    person_id: str
    values: dict[str, str] = field(default_factory=dict)


def _zipf(rng: random.Random, items: Sequence[str], skew: float = 0.9) -> str:
    weights = [1 / (rank + 1) ** skew for rank in range(len(items))]
    return rng.choices(items, weights)[0]


def _towns(seed: int) -> list[tuple[str, str]]:
    rng = random.Random(f"{seed}:towns")
    codes = rng.sample(range(2000, 7999), len(TOWNS))
    return [(town, str(code)) for town, code in zip(TOWNS, codes, strict=True)]


def make_people(count: int, *, seed: int = 1) -> list[Person]:
    """`count` distinct people; common names are common (a Zipf law), so namesakes occur as in real files."""
    rng = random.Random(f"{seed}:people")
    towns = _towns(seed)
    people = []
    mailboxes: set[str] = set()
    for index in range(count):
        gender = rng.choice("FM")
        given = _zipf(rng, GIVEN_F if gender == "F" else GIVEN_M, 0.7)
        family = _zipf(rng, FAMILY, 0.8)
        town, postcode = _zipf(rng, [f"{t}|{p}" for t, p in towns], 0.5).split("|")
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(365 * 65))
        mailbox = f"{given}.{family}".lower() if rng.random() < 0.5 else f"{given[0]}{family}{birth:%y}".lower()
        while mailbox in mailboxes:  # an address is one person's
            mailbox += str(rng.randrange(10))
        mailboxes.add(mailbox)
        people.append(
            Person(
                person_id=f"P{index + 1:06d}",
                given=given,
                family=family,
                gender=gender,
                birth=birth,
                number=str(rng.randint(1, 240)),
                street=_zipf(rng, STREETS, 0.4),
                street_type=rng.randrange(len(STREET_TYPES)),
                postcode=postcode,
                town=town,
                email=f"{mailbox}@{rng.choice(MAILBOXES)}",
                phone=f"+614{rng.randint(10_000_000, 99_999_999)}",
            )
        )
    return people


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    position = rng.randrange(1, len(text) - 1)
    kind = rng.choice(("sub", "ins", "del", "swap"))
    letter = rng.choice(string.ascii_lowercase)
    if kind == "sub":
        return text[:position] + letter + text[position + 1 :]
    if kind == "ins":
        return text[:position] + letter + text[position:]
    if kind == "del":
        return text[:position] + text[position + 1 :]
    return text[: position - 1] + text[position] + text[position - 1] + text[position + 1 :]


def _digit_typo(rng: random.Random, birth: dt.date) -> dt.date:
    """One digit of the date typed wrong, kept only when the result is still a calendar date."""
    text = birth.isoformat()
    for _ in range(20):
        position = rng.choice([2, 3, 6, 8, 9])
        candidate = text[:position] + str(rng.randrange(10)) + text[position + 1 :]
        try:
            changed = dt.date.fromisoformat(candidate)
        except ValueError:
            continue
        if changed != birth and changed.year >= 1920:
            return changed
    return birth


class Writer:
    """Writes people's records with the slips of duplicates, in the columns asked for."""

    def __init__(self, people: Sequence[Person], *, seed: int = 1, slips_per_duplicate: float = 1.5) -> None:
        self.people = people
        self.rng = random.Random(f"{seed}:records")
        self.towns = _towns(seed)
        self.slips_per_duplicate = slips_per_duplicate

    def clean(self, person: Person) -> dict[str, str]:
        long_type = STREET_TYPES[person.street_type][0]
        return {
            "first_name": person.given,
            "last_name": person.family,
            "birth_date": person.birth.isoformat(),
            "address": f"{person.number} {person.street} {long_type}",
            "postcode": person.postcode,
            "city": person.town,
            "email": person.email,
            "phone": person.phone,
            "gender": person.gender,
            "country": "AU",
        }

    def duplicate(self, person: Person) -> dict[str, str]:
        values = self.clean(person)
        count = max(1, round(self.rng.expovariate(1 / self.slips_per_duplicate)))
        for slip in self.rng.choices(list(SLIPS), list(SLIPS.values()), k=min(count, 4)):
            self._slip(slip, person, values)
        return values

    def _slip(self, slip: str, person: Person, values: dict[str, str]) -> None:  # noqa: C901 - one branch per slip
        rng = self.rng
        if slip == "given_typo":
            values["first_name"] = _typo(rng, values["first_name"])
        elif slip == "family_typo":
            values["last_name"] = _typo(rng, values["last_name"])
        elif slip == "names_swapped":
            values["first_name"], values["last_name"] = values["last_name"], values["first_name"]
        elif slip == "given_missing":
            values["first_name"] = ""
        elif slip == "birth_missing":
            values["birth_date"] = ""
        elif slip == "birth_typo":
            values["birth_date"] = _digit_typo(rng, person.birth).isoformat()
        elif slip == "birth_day_month" and person.birth.day <= 12:
            values["birth_date"] = person.birth.replace(month=person.birth.day, day=person.birth.month).isoformat()
        elif slip == "moved":
            town, postcode = rng.choice(self.towns)
            street, kind = rng.choice(STREETS), rng.choice(STREET_TYPES)[0]
            values.update(address=f"{rng.randint(1, 240)} {street} {kind}", postcode=postcode, city=town)
        elif slip == "street_written_otherwise":
            short = STREET_TYPES[person.street_type][1]
            if rng.random() < 0.5:
                values["address"] = f"{person.number} {person.street} {short}".upper()
            else:  # the house number after the street, as some countries write it
                values["address"] = f"{person.street} {STREET_TYPES[person.street_type][0]} {person.number}"
        elif slip == "street_typo":
            values["address"] = f"{person.number} {_typo(rng, person.street)} {STREET_TYPES[person.street_type][0]}"
        elif slip == "postcode_typo":
            values["postcode"] = person.postcode[:3] + str((int(person.postcode[3]) + rng.randint(1, 9)) % 10)
        elif slip == "city_missing":
            values["city"] = ""
        elif slip == "email_typo" and values["email"]:
            local, domain = values["email"].split("@")
            values["email"] = f"{_typo(rng, local)}@{domain}"
        elif slip == "email_missing":
            values["email"] = ""
        elif slip == "phone_missing":
            values["phone"] = ""


@dataclass(frozen=True)
class PeopleFile:
    path: Path
    source: str
    records: list[Record]


def write_file(path: Path, source: str, records: Sequence[Record], columns: Sequence[str]) -> PeopleFile:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for record in records:
            writer.writerow([record.values.get(column, "") for column in columns])
    return PeopleFile(path, source, list(records))


def one_source_with_duplicates(
    people: Sequence[Person], *, records: int, seed: int = 1, id_prefix: str = "R", max_per_person: int = 4
) -> list[Record]:
    """`records` records of one source: every person once, some of them again (up to `max_per_person` in all)."""
    writer = Writer(people, seed=seed)
    rng = random.Random(f"{seed}:duplicates")
    rows = [(person, writer.clean(person)) for person in people]
    extra = records - len(rows)
    if extra < 0:
        raise ValueError("fewer records than people")
    counts = dict.fromkeys(range(len(people)), 1)
    while extra > 0:
        index = rng.randrange(len(people))
        if counts[index] >= max_per_person:
            continue
        counts[index] += 1
        rows.append((people[index], writer.duplicate(people[index])))
        extra -= 1
    rng.shuffle(rows)
    return [
        Record(person.person_id, {"external_id": f"{id_prefix}{index + 1:06d}", **values})
        for index, (person, values) in enumerate(rows)
    ]


def linked_sources(
    people: Sequence[Person], *, seed: int = 1, prefixes: tuple[str, str] = ("A", "B")
) -> tuple[list[Record], list[Record]]:
    """Two sources holding the same people once each: the first clean, the second with a duplicate's slips."""
    writer = Writer(people, seed=seed)
    rng = random.Random(f"{seed}:linked")
    left = [Record(p.person_id, {"external_id": "", **writer.clean(p)}) for p in people]
    right = [Record(p.person_id, {"external_id": "", **writer.duplicate(p)}) for p in people]
    rng.shuffle(left)
    rng.shuffle(right)
    number = lambda prefix, rows: [  # noqa: E731
        replace(row, values={**row.values, "external_id": f"{prefix}{index + 1:06d}"}) for index, row in enumerate(rows)
    ]
    return number(prefixes[0], left), number(prefixes[1], right)


def truth(files: Sequence[PeopleFile]) -> dict[tuple[str, str], str]:
    """(source, external_id) -> person id, over the records of the files."""
    return {(f.source, r.values["external_id"]): r.person_id for f in files for r in f.records}
