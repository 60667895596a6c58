"""Given-name aliases learned from the records themselves: nicknames and short forms people use ("Tom", "Thomas").

A spelling rule cannot tell "Cathy" from "Catherine" apart from "Louis" from "Louise", and a fixed nickname list
only knows one language. The records know better: when two records share an e-mail address or a phone number, carry
the same family name and a compatible birth date, and their given names differ, the two given names are either one
person's (a nickname) or two relatives'. Relatives pick given names at random, so a pair of names seen this way for
several different people, far more often than the two names' frequencies would explain, is a nickname.

Files without e-mails or phones have another witness: records that share a family name, a birth date and an
address. Twins share all three as well, and parents give twins given names popular in their birth year, so a pair
of twins' names can come back by chance; a nickname, though, is seen beside its full name on a large share of its
own records. Names seen this way must reach a higher share (MIN_SHARE_HOUSEHOLD) than names seen sharing an
identifier.

Sightings are counted once per group of records joined together: one person's records sharing both an e-mail and a
phone are one sighting, not two.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from cdp.identity.features import Features, given_names_compatible, names_one_slip_apart

# A pair of given names becomes an alias when seen on this many distinct shared identifiers...
MIN_SHARED = 2
# ...and on at least this share of the rarer name's records (relatives' names co-occur far less often).
MIN_SHARE = 0.01
# The share for names seen on records sharing a family name, a birth date and an address (twins share them too: their
# names co-occur on well under 1% of either name's records in the demo retailer, nicknames on 10 to 50%).
MIN_SHARE_HOUSEHOLD = 0.05
# Identifiers held by more records than this say little about who is who (a household's landline, a shop's phone).
MAX_GROUP = 6


def learn_given_name_aliases(
    features: Mapping[int, Features], groups: Iterable[Iterable[int]], *, birth_ok
) -> list[tuple[str, str]]:
    """Alias pairs (sorted names) from groups of records sharing a strong identifier, and from records sharing a
    family name, a birth date and an address.

    `birth_ok(a, b)` says whether two records' birth dates are compatible (missing ones are).
    """
    given_count = Counter(f.fn for f in features.values() if f.fn)
    aliases = set()
    for witnesses, share in ((groups, MIN_SHARE), (household_groups(features), MIN_SHARE_HOUSEHOLD)):
        for (left, right), seen in _sightings(features, witnesses, birth_ok).items():
            if seen >= MIN_SHARED and seen >= share * min(given_count[left], given_count[right]):
                aliases.add((left, right))
    return sorted(aliases)


def _sightings(features: Mapping[int, Features], groups: Iterable[Iterable[int]], birth_ok) -> dict:
    """Pair of given names -> in how many groups of joined records it was seen (groups that overlap are one)."""
    parent: dict[int, int] = {}
    sightings: list[tuple[tuple[str, str], int]] = []  # (pair of names, one of the records it was seen on)
    for group in groups:
        ids = sorted(set(group))
        if len(ids) < 2 or len(ids) > MAX_GROUP:
            continue
        for record_id in ids[1:]:
            _union(parent, ids[0], record_id)
        sightings.extend(
            (tuple(sorted((features[left].fn, features[right].fn))), left)
            for index, left in enumerate(ids)
            for right in ids[index + 1 :]
            if _candidate(features[left], features[right]) and birth_ok(left, right)
        )
    seen: dict[tuple[str, str], set[int]] = defaultdict(set)
    for pair, record_id in sightings:
        seen[pair].add(_find(parent, record_id))
    return {pair: len(where) for pair, where in seen.items()}


def household_groups(features: Mapping[int, Features]) -> list[list[int]]:
    """Records that share a family name, a birth date and an address: one person's, or twins'."""
    holders: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for record_id, f in features.items():
        if f.ln and f.dob and f.addr:
            holders[(f.ln, f.dob, f.addr)].append(record_id)
    return [ids for ids in holders.values() if len(ids) >= 2]


def _find(parent: dict[int, int], record_id: int) -> int:
    root = record_id
    while parent.get(root, root) != root:
        root = parent[root]
    while record_id != root:  # path compression
        parent[record_id], record_id = root, parent.get(record_id, root)
    return root


def _union(parent: dict[int, int], left: int, right: int) -> None:
    a, b = _find(parent, left), _find(parent, right)
    if a != b:
        parent[b] = a


def _candidate(a: Features, b: Features) -> bool:
    """Two given names of one family that the spelling rules do not already accept, on records of one gender."""
    if not a.fn or not b.fn or a.fn == b.fn or not a.ln or a.ln != b.ln:
        return False
    if a.gender and b.gender and a.gender != b.gender:
        return False
    return not given_names_compatible(a.fn, b.fn)


def alias_map(pairs: Iterable[Iterable[str]]) -> dict[str, str]:
    """Given name -> "|name|alias|alias|": the form the model's comparison and the rules look names up in."""
    partners: dict[str, set[str]] = defaultdict(set)
    for left, right in pairs:
        partners[left].add(right)
        partners[right].add(left)
    return {name: "|" + "|".join(sorted({name, *others})) + "|" for name, others in partners.items()}


def are_aliases(left: Features, right: Features) -> bool:
    """Whether two records' given names are learned aliases of each other, one of them perhaps mistyped ("Tohy" for
    "Tony", an alias of "Anthony")."""
    return _alias_of(left, right) or _alias_of(right, left)


def _alias_of(known: Features, other: Features) -> bool:
    if not known.fn_aliases or not other.fn:
        return False
    if f"|{other.fn}|" in known.fn_aliases:
        return True
    return any(names_one_slip_apart(alias, other.fn) for alias in known.fn_aliases.strip("|").split("|"))
