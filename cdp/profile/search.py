"""Name search keys on Customer: how they are computed and kept filled, and the typo-tolerant matching that reads them.

The keys are derived data, stored so that a B-tree index answers a name search on SQLite and PostgreSQL alike:

- ``search_name`` = ``customer_search_key(first_name, last_name)``: the accent-free, lower-case name, last name first
  ("Jennifer", "Martin" -> "martin jennifer"). An index range on it finds a last name by its beginning.
- ``search_name_reversed``: the same words first name first, reversed ("nitram refinnej"). An index range on it finds
  a last name by its end, so a typo near the beginning of a name is found too.

NULL means "not computed yet" ("" is a customer without a name). ``customers_refresh_search_keys(customer_ids=None)``
fills both with set-based UPDATEs; the demo pipeline runs it as its "search-index" step, and the migration that added
the columns filled them for the customers of the time. The customer importer writes the keys of the customers it
creates, and every golden-record refresh (``cdp.identity.golden``: merge, unmerge, a changed source record) refreshes
the keys of the customers whose golden record changed, so a renamed customer is found under its new name at once. A
customer whose keys are still NULL (created by other means) is found by a bounded scan of the names themselves
(``FALLBACK_SCAN_LIMIT`` customers).

Matching a name:
1. ``name_ranges``: each query word of three letters or more gives three index ranges: the keys that begin with its
   first half, the reversed keys that begin with its reversed second half, and the keys that begin with its first half
   with the two middle letters swapped (halves of at least two letters). One edit (insertion, deletion, substitution)
   leaves one half intact, and a transposition that straddles the halves is undone by the third range, so a word of
   four letters or more with one typo is always among the candidates (two typos in the same half too), a word of three
   letters unless the typo is its middle letter; a shorter word gives the range of its exact prefix.
2. ``name_candidates``: the distinct keys in those ranges (at most MAX_CANDIDATE_KEYS), one UNION of index-only scans:
   the reversed index also holds ``search_name``, so neither database reads the table itself.
3. ``KeyRanker``: the candidates are ranked in Python, each query word against the closest word of the key by
   optimal-string-alignment distance, a prefix counting as half an edit; a word of 3 to 7 letters may be 1 edit away,
   a longer one 2, a shorter one none. Only last names lead to candidates: "Jenifer" alone finds no Jennifer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from django.db import connections, router
from django.db.models import Q

from cdp.normalise import normalise_key

MAX_KEY_LENGTH = 255
MIN_TYPO_WORD = 3  # shorter words ("le", "jo") must be exact prefixes: one range, no edit when ranking
MIN_RANGE = 2  # the shortest prefix a range reads
LONG_WORD = 8  # from this length two edits are allowed
PREFIX_COST = 0.5  # "mart" for "martin": closer than a typo, further than the exact word
MAX_CANDIDATE_KEYS = 20_000
FALLBACK_SCAN_LIMIT = 2_000
UPDATE_BATCH = 1_000
ID_CHUNK = 5_000


# ---------------------------------------------------------------------------------------------------------------------
# Keys


def fold_name(value: str | None) -> str:
    """Accent-free, lower-case words: "Jean-Pierre" -> "jean pierre", "Élodie" -> "elodie", "O'Neil" -> "o neil"."""
    return normalise_key(value).replace("_", " ")


def customer_search_key(first_name: str | None, last_name: str | None) -> str:
    """The stored name key, last name first: ("Jennifer", "Martin") -> "martin jennifer"; "" without a name."""
    return " ".join(part for part in (fold_name(last_name), fold_name(first_name)) if part)[:MAX_KEY_LENGTH]


def customer_search_key_reversed(first_name: str | None, last_name: str | None) -> str:
    """The key first name first, reversed, so that it begins with the end of the last name: "nitram refinnej"."""
    words = " ".join(part for part in (fold_name(first_name), fold_name(last_name)) if part)
    return words[::-1][:MAX_KEY_LENGTH]


def customers_refresh_search_keys(customer_ids: Iterable | None = None) -> int:
    """Compute the search keys of these customers (every customer when None); returns how many rows changed."""
    from cdp.models import Customer

    return search_keys_fill(Customer, customer_ids)


def search_keys_fill(customer_model, customer_ids: Iterable | None = None) -> int:
    """customers_refresh_search_keys on a given model class (a migration passes its historical model).

    Walks the customers in primary-key order, a batch at a time, and writes only the keys that differ. No history row
    is written: the keys are derived from fields whose history is kept.
    """
    manager = customer_model._base_manager
    columns = ("pk", "first_name", "last_name", "search_name", "search_name_reversed")
    changed = 0
    for chunk in _id_chunks(customer_ids):
        queryset = manager.order_by("pk").values_list(*columns)
        if chunk is not None:
            queryset = queryset.filter(pk__in=chunk)
        last = None
        while batch := list((queryset if last is None else queryset.filter(pk__gt=last))[:UPDATE_BATCH]):
            last = batch[-1][0]
            stale = []
            for pk, first_name, last_name, key, reversed_key in batch:
                fresh = (
                    customer_search_key(first_name, last_name),
                    customer_search_key_reversed(first_name, last_name),
                )
                if fresh != (key, reversed_key):
                    stale.append((pk, *fresh))
            changed += _write_keys(customer_model, stale)
    return changed


def _id_chunks(customer_ids: Iterable | None) -> Iterator[list | None]:
    if customer_ids is None:
        yield None
        return
    iterator = iter(dict.fromkeys(customer_ids))
    while chunk := list(islice(iterator, ID_CHUNK)):
        yield chunk


def _write_keys(customer_model, rows: list[tuple]) -> int:
    """One UPDATE ... FROM (VALUES ...) for the batch: the same statement on SQLite (3.33+) and PostgreSQL."""
    if not rows:
        return 0
    connection = connections[router.db_for_write(customer_model)]
    meta = customer_model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    name_column = quote(meta.get_field("search_name").column)
    reversed_column = quote(meta.get_field("search_name_reversed").column)
    params = []
    for pk, key, reversed_key in rows:
        params += [meta.pk.get_db_prep_value(pk, connection), key, reversed_key]
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    # VALUES names its columns column1, column2, ... on both databases.
    sql = (
        f"UPDATE {table} SET {name_column} = v.column2, {reversed_column} = v.column3 "
        f"FROM (VALUES {values}) AS v WHERE {table}.{quote(meta.pk.column)} = v.column1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# ---------------------------------------------------------------------------------------------------------------------
# Matching


def query_words(query: str) -> list[str]:
    """The folded words of a query, each once, in order."""
    return list(dict.fromkeys(fold_name(query).split()))


def _successor(prefix: str) -> str:
    """The smallest string above every string that begins with `prefix` (keys are made of a-z, 0-9 and spaces)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _prefix_range(column: str, prefix: str) -> Q:
    # A range rather than LIKE 'x%': SQLite uses an index for LIKE only on a NOCASE column, PostgreSQL only with a
    # pattern_ops index. A range uses the plain B-tree on both (a collation other than C may widen it a little: every
    # candidate is ranked anyway).
    return Q(**{f"{column}__gte": prefix, f"{column}__lt": _successor(prefix)})


def name_ranges(words: Iterable[str]) -> list[Q]:
    """The index ranges where the keys of names within one typo of each query word are (see the module's docstring)."""
    ranges = {}
    for word in words:
        if len(word) < MIN_TYPO_WORD:
            ranges[("search_name", word)] = None
            continue
        head = max(MIN_RANGE, len(word) // 2)
        ranges[("search_name", word[:head])] = None
        ranges[("search_name_reversed", word[::-1][: max(MIN_RANGE, len(word) - head)])] = None
        ranges[("search_name", word[: head - 1] + word[head])] = None  # "matrin": "mar", where "martin" is
    return [_prefix_range(column, prefix) for column, prefix in ranges]


def name_candidates(customer_model, words: list[str]) -> list[str]:
    """The distinct keys in the ranges of these words: one UNION of index-only scans, at most MAX_CANDIDATE_KEYS."""
    ranges = name_ranges(words)
    if not ranges:
        return []
    manager = customer_model._default_manager
    scans = [manager.filter(condition).order_by().values_list("search_name", flat=True) for condition in ranges]
    return list(scans[0].union(*scans[1:])[:MAX_CANDIDATE_KEYS])


def allowed_edits(word: str) -> int:
    if len(word) < MIN_TYPO_WORD:
        return 0
    return 2 if len(word) >= LONG_WORD else 1


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions); limit + 1 once it exceeds limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = char_a != char_b
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                best = min(best, previous_previous[j - 2] + 1)
            current[j] = best
        if min(current) > limit:
            return limit + 1
        previous_previous, previous = previous, current
    return min(previous[-1], limit + 1)


def word_distance(word: str, key_word: str) -> float | None:
    """How far a query word is from a word of a key: 0 the same, 0.5 a prefix, else edits; None beyond the allowance."""
    if key_word == word:
        return 0.0
    if key_word.startswith(word):
        return PREFIX_COST
    allowed = allowed_edits(word)
    if not allowed:
        return None
    edits = osa_distance(word, key_word, allowed)
    if edits <= allowed:
        return float(edits)
    edits = osa_distance(word, key_word[: len(word)], allowed)  # a typo in a prefix: "matr" for "martin"
    return edits + PREFIX_COST if edits <= allowed else None


class KeyRanker:
    """Scores keys against the words of one query; word distances are cached, since names repeat across keys."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self._distances: dict[tuple[str, str], float | None] = {}

    def _distance(self, word: str, key_word: str) -> float | None:
        pair = (word, key_word)
        if pair not in self._distances:
            self._distances[pair] = word_distance(word, key_word)
        return self._distances[pair]

    def score(self, key: str) -> float | None:
        """Sum over the query's words of the distance to the closest word of the key; None when a word has none."""
        key_words = key.split()
        total = 0.0
        for word in self.words:
            found = [d for key_word in key_words if (d := self._distance(word, key_word)) is not None]
            if not found:
                return None
            total += min(found)
        return total

    def rank(self, keys: Iterable[str]) -> list[tuple[float, str]]:
        """(score, key) of the keys that match, best first."""
        scored = ((self.score(key), key) for key in keys if key)
        return sorted((score, key) for score, key in scored if score is not None)
