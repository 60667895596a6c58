"""The suppression list: an erased subject's identifiers as keyed hashes, so no import can bring the subject back.

A digest is HMAC-SHA256 with PSEUDONYMISATION_KEY over the identifier's kind and normalised value; without the key,
the list cannot be read back or tested against guessed values. Callers hand over values normalised as their app
stores them (lower-case e-mail, E.164 phone, and the source's key with the external id).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from consent.models import ErasureReceipt, SuppressedIdentifier
from consent.registry import SubjectKeys

ERASED_SUBJECT = "erased subject"

Kind = SuppressedIdentifier.Kind
# Below SQLite's bound on query parameters.
CHUNK_SIZE = 5000


def _key() -> bytes:
    key = settings.PSEUDONYMISATION_KEY
    if not key:
        raise ImproperlyConfigured("PSEUDONYMISATION_KEY is empty: the suppression list needs a secret key")
    return key.encode("utf-8")


def suppression_digest(kind: str, value: str) -> str:
    return hmac.new(_key(), f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()


def external_id_value(source_key: str, external_id: str) -> str:
    return f"{source_key}:{external_id}"


def holder_value(value: str, person: str) -> str:
    """A shared e-mail or phone together with one person who holds it (the person in the subject app's folded form)."""
    return f"{value}\x1f{person}"


def keys_identifiers(keys: SubjectKeys) -> set[tuple[str, str]]:
    """(kind, value) pairs of a subject's keys.

    The subject's own e-mails and phones are listed as they are: no import may bring them back, whoever they come
    with. A value the subject shares with others (``keys.shared``: a household's e-mail, a landline) is listed only
    together with the subject as a person, so that a record of the erased person is refused while the other members
    of the household keep being imported.
    """
    found = {(Kind.EXTERNAL_ID, external_id_value(s, e)) for s, e in keys.external_ids if e}
    for kind, holder_kind, values in (
        (Kind.EMAIL, Kind.EMAIL_HOLDER, keys.emails),
        (Kind.PHONE, Kind.PHONE_HOLDER, keys.phones),
    ):
        for value in values:
            if not value:
                continue
            if value not in keys.shared or not keys.persons:  # without a name, a shared value is refused whole
                found.add((kind, value))
            else:
                found |= {(holder_kind, holder_value(value, person)) for person in keys.persons}
    return found


def suppression_add(*, identifiers: Iterable[tuple[str, str]], receipt: ErasureReceipt | None = None) -> int:
    """Put identifiers on the list (idempotent). Returns how many there are, including any already listed."""
    rows = [
        SuppressedIdentifier(kind=kind, digest=suppression_digest(kind, value), receipt=receipt)
        for kind, value in set(identifiers)
    ]
    SuppressedIdentifier.objects.bulk_create(rows, ignore_conflicts=True, batch_size=CHUNK_SIZE)
    return len(rows)


def suppressed_among(identifiers: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (kind, value) pairs of `identifiers` that are on the list. One query per CHUNK_SIZE digests."""
    by_digest = {(kind, suppression_digest(kind, value)): (kind, value) for kind, value in set(identifiers) if value}
    if not by_digest:
        return set()
    found: set[tuple[str, str]] = set()
    pairs = list(by_digest)
    for start in range(0, len(pairs), CHUNK_SIZE):
        digests = {digest for _, digest in pairs[start : start + CHUNK_SIZE]}
        listed = SuppressedIdentifier.objects.filter(digest__in=digests).values_list("kind", "digest")
        found |= {by_digest[pair] for pair in listed if pair in by_digest}
    return found


def suppressed_digests(kind: str) -> frozenset[str]:
    """Every digest of one kind: for an import that checks millions of rows without a query per row or batch (the
    list holds one entry per erased identifier, so it stays small)."""
    return frozenset(SuppressedIdentifier.objects.filter(kind=kind).values_list("digest", flat=True))


def suppression_has_any() -> bool:
    """Cheap guard: an empty list costs imports nothing."""
    return SuppressedIdentifier.objects.exists()
