"""What an import takes (options) and gives back (result, row errors)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

KIND_CUSTOMERS = "customers"
KIND_TRANSACTIONS = "transactions"
KIND_EVENTS = "events"
KIND_CONSENTS = "consents"

# Reasons that concern the row as a whole (field-level reasons come from cdp.normalise).
MISSING_REQUIRED = "missing required field"
DUPLICATE_ROW = "duplicate of row"
FUTURE_DATE = "in the future"
NOT_VALID_TEXT = "not valid text in encoding"
CONTROL_CHARACTER = "control character"  # NUL, bell, escape...: never text a person typed
NEGATIVE_PRICE = "negative unit price"
NEGATIVE_DISCOUNT = "negative discount"
DISCOUNT_TOO_LARGE = "discount larger than the line amount"
ZERO_QUANTITY = "quantity is zero"
IMPLAUSIBLE_BIRTH_DATE = "implausible birth date"
BORN_AFTER_SIGNUP = "birth date after signup date"
INVALID_PROPERTIES = "properties is not a JSON object"
UNKNOWN_CHANNEL = "unknown channel"
UNKNOWN_PURPOSE = "unknown purpose"
UNKNOWN_CONSENT_STATUS = "unknown consent status"
TOO_LONG = "too long"
NO_CUSTOMER_OR_ANONYMOUS_ID = "needs customer_external_id or anonymous_id"
INCONSISTENT_RECEIPT = "receipt header differs from an earlier row of the same receipt"

MAX_AGE_YEARS = 120
# Rows written per transaction. Customer rows are matched against everything stored and among themselves as a set:
# a bigger batch spends the fixed cost of a match (the model, its SQL, the candidate queries) over more records.
DEFAULT_BATCH_SIZE = 5000
BATCH_SIZES = {KIND_CUSTOMERS: 20_000}


@dataclass(frozen=True)
class ImportOptions:
    delimiter: str = ","
    encoding: str = "utf-8"
    decimal_comma: bool = False
    date_format: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    currency: str = ""
    phone_region: str = ""
    batch_size: int | None = None  # None: the kind's own (BATCH_SIZES)

    def resolved(self, kind: str | None = None) -> ImportOptions:
        """The options with the retailer's defaults filled in from settings."""
        return ImportOptions(
            delimiter=self.delimiter,
            encoding=self.encoding,
            decimal_comma=self.decimal_comma,
            date_format=self.date_format,
            mapping=dict(self.mapping),
            currency=(self.currency or settings.CLIENTELE_CURRENCY).upper(),
            phone_region=(self.phone_region or settings.CLIENTELE_PHONE_REGION).upper(),
            batch_size=self.batch_size or BATCH_SIZES.get(kind, DEFAULT_BATCH_SIZE),
        )


@dataclass(frozen=True)
class RowError:
    """A rejected row: its row number (the file's line number, header = 1; or the record's index in an API batch)."""

    row: int
    reasons: tuple[str, ...]
    values: dict[str, Any]


@dataclass
class ImportResult:
    kind: str
    source: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    seconds: float = 0.0
    errors: list[RowError] = field(default_factory=list)
    batch_id: int | None = None
    started_at: dt.datetime | None = None

    def add(self, created: int = 0, updated: int = 0, unchanged: int = 0) -> None:
        self.created += created
        self.updated += updated
        self.unchanged += unchanged

    def summary(self) -> str:
        return (
            f"{self.kind} from {self.source}: read {self.read}, created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {self.rejected} in {self.seconds:.1f}s"
        )


class FileUnusable(Exception):  # noqa: N818 - reads as the reason: "the file is unusable"
    """The file as a whole cannot be imported (missing, wrong encoding in its header, required columns absent)."""


class RowRejected(Exception):  # noqa: N818
    """A row with one or more reasons to refuse it."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = tuple(reasons)


class BatchInProgress(Exception):  # noqa: N818
    """An API batch with the same idempotency key is still being imported."""


class IdempotencyKeyReused(Exception):  # noqa: N818
    """The caller already sent another body under this Idempotency-Key: replaying it would drop the new records."""
