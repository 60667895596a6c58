"""The rules that keep records apart whatever their score: identity contradictions and strong-identifier conflicts.

Fellegi-Sunter adds up evidence field by field as if fields were independent. Members of one household are where
that fails: twins, spouses, parents and children share a family name, an address, a landline and sometimes an
e-mail address, so they can outscore a person's own records. A false merge shows one person's data to another, so
two rules are applied on top of the model, to every pair of records that would end up in one customer:

1. Identity contradiction (never merged automatically; a pair the model scores above the review threshold goes to
   the review queue instead): given names that cannot be one person's ("Louis" / "Louise", "Léo" / "Léa",
   "Jean-Pierre" / "Jean-Claude"; short forms, initials and one-letter slips are compatible, and so are swapped
   given and family names, and given names the records themselves show to be aliases: ``cdp.identity.aliases``),
   birth dates that are not one typing slip apart (a wrong digit, two adjacent digits swapped, day and month
   swapped), or two known genders that differ. A missing value contradicts nothing.
2. Strong-identifier conflict (never merged, not even by a reviewer): both sides carry e-mail addresses and phone
   numbers, and they share none of either. People change one of them, and households share them, so a single
   difference is only evidence (the model weighs it); both differing at once is taken as two different people.
   What is one person's handle written again is shared, not different: the same mailbox name at another provider
   ("aberger@" here and there, MIN_MAILBOX characters or more), and a phone number one typing slip from another.
   The rule is checked between whole customers (all their records' values), so chains of links cannot join two
   people that no single link would.

Between two groups of records (two customers, or a customer and a record), rule 1 holds for every pair of records
across them, with one allowance: records that contradict each other only because each is mistyped otherwise
("Lumy" / "Lcy", "1957-12-04" / "1955-04-12") do not when a record of the two groups is one typing slip from both
("Lucy", "1957-04-12"): they are that record's value, mistyped twice. A name that is a short form or another name's
feminine form is no slip, so such a record never bridges "Louis" and "Louise".

Two records of one source with different ids are not a conflict: duplicates inside one source happen (a loyalty
card reissued, an account opened twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from cdp.identity.aliases import are_aliases
from cdp.identity.features import (
    Features,
    birth_dates_compatible,
    given_names_compatible,
    names_one_slip_apart,
    phones_one_slip_apart,
)

CONFLICT_MESSAGE = "these customers' e-mail addresses and phone numbers all differ: they are different people"
GENDERS_DIFFER = "genders differ ({left} / {right})"
GIVEN_NAMES_DIFFER = "given names {left} / {right} are two names, not one name with a slip"
BIRTH_DATES_DIFFER = "birth dates {left} / {right} are more than one typing slip apart"
# A mailbox name this long is one person's habit, not a word many people pick ("info", "marie").
MIN_MAILBOX = 6


@dataclass(frozen=True)
class IdentityView:
    """What the rules look at for one source record."""

    features: Features
    birth_date: dt.date | None


def identity_contradiction(left: IdentityView, right: IdentityView) -> str:
    """What contradicts two records being one person (rule 1), in words; "" when nothing does."""
    a, b = left.features, right.features
    if a.gender and b.gender and a.gender != b.gender:
        return GENDERS_DIFFER.format(left=a.gender, right=b.gender)
    if not _names_compatible(a, b):
        return GIVEN_NAMES_DIFFER.format(left=a.fn.title(), right=b.fn.title())
    if not birth_dates_compatible(left.birth_date, right.birth_date):
        return BIRTH_DATES_DIFFER.format(left=left.birth_date, right=right.birth_date)
    return ""


def identity_compatible(left: IdentityView, right: IdentityView) -> bool:
    """No identity contradiction between two records (rule 1)."""
    return not identity_contradiction(left, right)


def strong_conflict(left: Iterable[IdentityView], right: Iterable[IdentityView]) -> bool:
    """Rule 2 between two groups of records: e-mails and phones on both sides, and none shared."""
    left, right = list(left), list(right)
    left_emails = {v.features.email for v in left if v.features.email}
    right_emails = {v.features.email for v in right if v.features.email}
    left_phones = {v.features.phone for v in left if v.features.phone}
    right_phones = {v.features.phone for v in right if v.features.phone}
    if not (left_emails and right_emails and left_phones and right_phones):
        return False
    if left_emails & right_emails or left_phones & right_phones:
        return False
    if _mailboxes(left) & _mailboxes(right):
        return False
    return not any(phones_one_slip_apart(a, b) for a in left_phones for b in right_phones)


def _mailboxes(views: list[IdentityView]) -> set[str]:
    """The mailbox names (e-mail local parts without dots, dashes or tags) long enough to be one person's."""
    return {v.features.email_local for v in views if len(v.features.email_local) >= MIN_MAILBOX}


def groups_contradiction(left: list[IdentityView], right: list[IdentityView]) -> str:
    """Why two groups of records may not become one customer automatically, in words; "" when they may."""
    if strong_conflict(left, right):
        return CONFLICT_MESSAGE
    members = [*left, *right]
    for a in left:
        for b in right:
            why = identity_contradiction(a, b)
            if why and not _bridged(a, b, members):
                return why
    return ""


def _bridged(a: IdentityView, b: IdentityView, members: list[IdentityView]) -> bool:
    """Whether all that contradicts a and b is a value each mistyped from another record's (one slip from both)."""
    fa, fb = a.features, b.features
    if fa.gender and fb.gender and fa.gender != fb.gender:
        return False
    if not _names_compatible(fa, fb) and not any(
        _same_names_but_slips(fa, c.features) and _same_names_but_slips(c.features, fb) for c in members
    ):
        return False
    return birth_dates_compatible(a.birth_date, b.birth_date) or any(
        c.birth_date is not None
        and birth_dates_compatible(a.birth_date, c.birth_date)
        and birth_dates_compatible(c.birth_date, b.birth_date)
        for c in members
    )


def _names_compatible(a: Features, b: Features) -> bool:
    """Rule 1 on names: given names that can be one person's, as written, as aliases, or with the names swapped."""
    return (
        given_names_compatible(a.fn, b.fn)
        or are_aliases(a, b)
        or (bool(a.fn and b.fn) and given_names_compatible(a.fn, b.ln) and given_names_compatible(a.ln, b.fn))
    )


def _same_names_but_slips(a: Features, b: Features) -> bool:
    """Both names the same but for a typing slip in either, as written or swapped ("Lumy Simth" / "Lucy Smith")."""

    def same(x: str, y: str) -> bool:
        return x == y or names_one_slip_apart(x, y)

    return bool(a.fn and b.fn) and ((same(a.fn, b.fn) and same(a.ln, b.ln)) or (same(a.fn, b.ln) and same(a.ln, b.fn)))


def groups_compatible(left: list[IdentityView], right: list[IdentityView]) -> bool:
    """Whether two groups of records may become one customer automatically: no conflict, no contradiction."""
    return not groups_contradiction(left, right)
