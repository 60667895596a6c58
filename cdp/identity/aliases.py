"""Given-name aliases learned from the records themselves: nicknames and short forms people use ("Tom", "Thomas").

A spelling rule cannot tell "Cathy" from "Catherine" apart from "Louis" from "Louise", and a fixed nickname list
only knows one language. The records know better: when two records share an e-mail address or a phone number, carry
the same family name and a compatible birth date, and their given names differ, the two given names are either one
person's (a nickname) or two relatives'. Relatives pick given names at random, so a pair of names seen this way for
several different identifiers, far more often than the two names' frequencies would explain, is a nickname.

The learned aliases are evidence for the model (a comparison level) and lift the rules' given-name contradiction for
that pair of names. They are stored with the trained model, so matching at import uses the same ones.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from cdp.identity.features import Features, given_names_compatible

# A pair of given names becomes an alias when seen on this many distinct shared identifiers...
MIN_SHARED = 2
# ...and on at least this share of the rarer name's records (relatives' names co-occur far less often).
MIN_SHARE = 0.01
# Identifiers held by more records than this say little about who is who (a household's landline, a shop's phone).
MAX_GROUP = 6


def learn_given_name_aliases(
    features: Mapping[int, Features], groups: Iterable[Iterable[int]], *, birth_ok
) -> list[tuple[str, str]]:
    """Alias pairs (sorted names) from groups of records sharing a strong identifier.

    `birth_ok(a, b)` says whether two records' birth dates are compatible (missing ones are).
    """
    given_count = Counter(f.fn for f in features.values() if f.fn)
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for group in groups:
        ids = sorted(set(group))
        if len(ids) < 2 or len(ids) > MAX_GROUP:
            continue
        pairs = {
            tuple(sorted((features[left].fn, features[right].fn)))
            for index, left in enumerate(ids)
            for right in ids[index + 1 :]
            if _candidate(features[left], features[right]) and birth_ok(left, right)
        }
        for pair in pairs:
            seen[pair] += 1
    aliases = []
    for (left, right), count in seen.items():
        rarer = min(given_count[left], given_count[right])
        if count >= MIN_SHARED and count >= MIN_SHARE * rarer:
            aliases.append((left, right))
    return sorted(aliases)


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
    """Whether two records' given names are learned aliases of each other."""
    return bool(left.fn_aliases and right.fn and f"|{right.fn}|" in left.fn_aliases)
