"""Row parsing and validation per kind: every reason a row is refused is collected, never just the first."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.conf import settings
from django.utils import timezone

from cdp import normalise as norm
from cdp.ingest import types as t
from cdp.ingest.reader import control_character, is_valid_text
from cdp.models import Category, Interaction, PersonFields, Product, Receipt, SourceRecord, Store
from consent.models import ConsentStatus
from consent.selectors import ConsentVocabulary, consent_vocabulary
from consent.services.ledger import LEDGER_MAX_LENGTHS, ledger_event_key

CUSTOMER_FIELDS = ("external_id", *PersonFields.PERSON_FIELDS, "signup_date")
TRANSACTION_FIELDS = (
    "receipt_id",
    "line",
    "customer_external_id",
    "timestamp",
    "store",
    "channel",
    "sku",
    "product_name",
    "category",
    "quantity",
    "unit_price",
    "discount",
)
EVENT_FIELDS = ("customer_external_id", "anonymous_id", "timestamp", "type", "channel", "properties")
CONSENT_FIELDS = (
    "customer_external_id",
    "purpose",
    "channel",
    "status",
    "timestamp",
    "source",
    "policy_version",
    "evidence",
)

REQUIRED = {
    t.KIND_CUSTOMERS: ("external_id",),
    t.KIND_TRANSACTIONS: ("receipt_id", "timestamp", "sku", "quantity", "unit_price"),
    t.KIND_EVENTS: ("timestamp", "type"),
    t.KIND_CONSENTS: ("customer_external_id", "purpose", "status", "timestamp"),
}
KNOWN = {
    t.KIND_CUSTOMERS: CUSTOMER_FIELDS,
    t.KIND_TRANSACTIONS: TRANSACTION_FIELDS,
    t.KIND_EVENTS: EVENT_FIELDS,
    t.KIND_CONSENTS: CONSENT_FIELDS,
}


def _max_lengths(model, names: dict[str, str]) -> dict[str, int]:
    """Row field -> the column size of the model field it is stored in."""
    return {row_field: model._meta.get_field(model_field).max_length for row_field, model_field in names.items()}


CUSTOMER_MAX_LENGTHS = _max_lengths(
    SourceRecord, {name: name for name in CUSTOMER_FIELDS if name not in ("birth_date", "signup_date", "gender")}
)
TRANSACTION_MAX_LENGTHS = {
    **_max_lengths(Receipt, {"receipt_id": "receipt_id", "customer_external_id": "customer_external_id"}),
    **_max_lengths(Store, {"store": "code"}),
    **_max_lengths(Product, {"sku": "sku", "product_name": "name"}),
    **_max_lengths(Category, {"category": "key"}),
}
EVENT_MAX_LENGTHS = _max_lengths(
    Interaction, {"customer_external_id": "customer_external_id", "anonymous_id": "anonymous_id", "type": "type"}
)

CHANNEL_SYNONYMS = {
    "web": "web",
    "website": "web",
    "online": "web",
    "eshop": "web",
    "e_shop": "web",
    "ecommerce": "web",
    "app": "app",
    "mobile": "app",
    "mobile_app": "app",
    "email": "email",
    "e_mail": "email",
    "mail": "email",
    "sms": "sms",
    "text": "sms",
    "store": "store",
    "shop": "store",
    "in_store": "store",
    "pos": "store",
    "phone": "phone",
    "call_centre": "phone",
    "call_center": "phone",
    "callcenter": "phone",
    "telephone": "phone",
    "post": "post",
    "postal": "post",
    "letter": "post",
    "other": "other",
}

# Clocks drift: a timestamp this far ahead of ours is still accepted.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)


@dataclass
class RowContext:
    """What every row of one import shares: options, time zone, "now", and the columns the file has."""

    options: t.ImportOptions
    columns: frozenset[str]
    tz: dt.tzinfo = field(default_factory=lambda: zoneinfo.ZoneInfo(settings.TIME_ZONE))
    now: dt.datetime = field(default_factory=timezone.now)

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.tz).date()

    @cached_property
    def consent_vocabulary(self) -> ConsentVocabulary:
        """Purposes and channels an import may name: read once per import, not once per row."""
        return consent_vocabulary()


class Reasons(list):
    """Collects reasons; `check(callable, value)` runs a parser and records its error instead of raising."""

    def check(self, parser, *args, **kwargs) -> Any:
        try:
            return parser(*args, **kwargs)
        except norm.NormalisationError as exc:
            self.append(str(exc))
            return None

    def raise_if_any(self) -> None:
        if self:
            raise t.RowRejected(list(self))


def check_lengths(values: dict[str, Any], limits: dict[str, int], reasons: Reasons) -> None:
    """A value longer than its column is refused with its row, not left to fail the whole batch's insert."""
    for name, limit in limits.items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > limit:
            reasons.append(f"{name} {t.TOO_LONG} (more than {limit} characters)")


def _validate_raw(raw: dict[str, str], kind: str, reasons: Reasons, options: t.ImportOptions) -> None:
    for name, value in raw.items():
        if name == "__extra__" or not isinstance(value, str):
            continue
        if not is_valid_text(value):
            reasons.append(f"{t.NOT_VALID_TEXT} {options.encoding} in column {name!r} (try --encoding)")
        elif code := control_character(value):
            reasons.append(f"{t.CONTROL_CHARACTER} {code} in column {name!r}")
        if code := control_character(name):
            reasons.append(f"{t.CONTROL_CHARACTER} {code} in a column name")
    for name in REQUIRED[kind]:
        if not (raw.get(name) or "").strip():
            reasons.append(f"{t.MISSING_REQUIRED} {name!r}")
    if "__extra__" in raw:
        reasons.append("more values than columns in the header")


# ---------------------------------------------------------------------------------------------------------------------
# Customers
# ---------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CustomerRow:
    external_id: str
    values: dict[str, Any]  # only the fields the file has
    attributes: dict[str, str]


def _parse_person_values(raw: dict[str, str], ctx: RowContext, reasons: Reasons) -> dict[str, Any]:
    opts = ctx.options
    country = reasons.check(norm.normalise_country, raw.get("country", "")) if "country" in ctx.columns else None
    # a national number is read in the row's own country when it has one, else in the retailer's default region
    region = country or opts.phone_region
    parsers = {
        "first_name": lambda v: norm.normalise_name(v),
        "last_name": lambda v: norm.normalise_name(v),
        "email": norm.normalise_email,
        "phone": lambda v: norm.normalise_phone(v, region),
        "birth_date": lambda v: norm.parse_date(v, opts.date_format),
        "signup_date": lambda v: norm.parse_date(v, opts.date_format),
        "gender": norm.normalise_gender,
        "address": norm.normalise_text,
        "city": norm.normalise_text,
    }
    values: dict[str, Any] = {}
    for name, parser in parsers.items():
        if name in ctx.columns:
            values[name] = reasons.check(parser, raw.get(name, ""))
    if "country" in ctx.columns:
        values["country"] = country
    if "postcode" in ctx.columns:
        values["postcode"] = reasons.check(norm.normalise_postcode, raw.get("postcode", ""), values.get("country", ""))
    for name in ("first_name", "last_name", "email", "phone", "gender", "address", "postcode", "city", "country"):
        if name in values and values[name] is None:
            values[name] = ""
    return values


def _check_person_dates(values: dict[str, Any], ctx: RowContext, reasons: Reasons) -> None:
    birth, signup = values.get("birth_date"), values.get("signup_date")
    today = ctx.today
    if birth is not None and (birth > today or birth.year < today.year - t.MAX_AGE_YEARS):
        reasons.append(f"{t.IMPLAUSIBLE_BIRTH_DATE} {birth.isoformat()}")
    if signup is not None and signup > today:
        reasons.append(f"signup_date {signup.isoformat()} is {t.FUTURE_DATE}")
    if birth is not None and signup is not None and birth > signup:
        reasons.append(t.BORN_AFTER_SIGNUP)


def parse_customer(raw: dict[str, str], ctx: RowContext) -> CustomerRow:
    reasons = Reasons()
    _validate_raw(raw, t.KIND_CUSTOMERS, reasons, ctx.options)
    external_id = norm.normalise_code(raw.get("external_id"))
    values = _parse_person_values(raw, ctx, reasons)
    check_lengths({**values, "external_id": external_id}, CUSTOMER_MAX_LENGTHS, reasons)
    _check_person_dates(values, ctx, reasons)
    reasons.raise_if_any()
    attributes = {
        name: norm.normalise_text(value)
        for name, value in raw.items()
        if name not in CUSTOMER_FIELDS and name != "__extra__" and name and value and value.strip()
    }
    return CustomerRow(external_id=external_id, values=values, attributes=attributes)


# ---------------------------------------------------------------------------------------------------------------------
# Transactions (one row per receipt line)
# ---------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TransactionRow:
    receipt_id: str
    line: int | None
    customer_external_id: str
    purchased_at: dt.datetime
    store: str
    channel: str
    sku: str
    product_name: str
    category: str
    quantity: int
    unit_price_minor: int
    discount_minor: int

    def header(self) -> tuple:
        """What the receipt takes from its lines; every line of a receipt must agree on it."""
        return (self.customer_external_id, self.purchased_at, self.store, self.channel)


def _parse_channel(value: str | None) -> str:
    key = norm.normalise_key(value)
    if not key:
        return ""
    channel = CHANNEL_SYNONYMS.get(key)
    if channel is None:
        raise norm.NormalisationError(f"{t.UNKNOWN_CHANNEL} {value!r}")
    return channel


def _check_timestamp(value: dt.datetime | None, name: str, ctx: RowContext, reasons: Reasons) -> None:
    if value is not None and value > ctx.now + FUTURE_TOLERANCE:
        reasons.append(f"{name} {value.isoformat()} is {t.FUTURE_DATE}")


def _check_amounts(quantity, unit_price, discount, reasons: Reasons) -> None:
    if quantity == 0:
        reasons.append(t.ZERO_QUANTITY)
    if unit_price is not None and unit_price < 0:
        reasons.append(t.NEGATIVE_PRICE)
    if discount is not None and discount < 0:
        reasons.append(t.NEGATIVE_DISCOUNT)
    if None not in (quantity, unit_price, discount) and discount > abs(quantity) * unit_price:
        reasons.append(t.DISCOUNT_TOO_LARGE)


def parse_transaction(raw: dict[str, str], ctx: RowContext) -> TransactionRow:
    reasons = Reasons()
    opts = ctx.options
    _validate_raw(raw, t.KIND_TRANSACTIONS, reasons, opts)
    line = reasons.check(norm.parse_integer, raw.get("line", ""), decimal_comma=opts.decimal_comma)
    if line is not None and line < 1:
        reasons.append(f"line {line} must be 1 or more")
    purchased_at = reasons.check(norm.parse_timestamp, raw.get("timestamp", ""), ctx.tz, opts.date_format)
    _check_timestamp(purchased_at, "timestamp", ctx, reasons)
    quantity = reasons.check(norm.parse_integer, raw.get("quantity", ""), decimal_comma=opts.decimal_comma)
    unit_price = reasons.check(norm.parse_decimal_minor, raw.get("unit_price", ""), decimal_comma=opts.decimal_comma)
    discount = reasons.check(norm.parse_decimal_minor, raw.get("discount", ""), decimal_comma=opts.decimal_comma) or 0
    _check_amounts(quantity, unit_price, discount, reasons)
    channel = reasons.check(_parse_channel, raw.get("channel", ""))
    texts = {
        "receipt_id": norm.normalise_code(raw.get("receipt_id")),
        "customer_external_id": norm.normalise_code(raw.get("customer_external_id")),
        "store": norm.normalise_code(raw.get("store")),
        "sku": norm.normalise_code(raw.get("sku")),
        "product_name": norm.normalise_text(raw.get("product_name")),
        "category": norm.normalise_key(raw.get("category")),
    }
    check_lengths(texts, TRANSACTION_MAX_LENGTHS, reasons)
    reasons.raise_if_any()
    return TransactionRow(
        receipt_id=texts["receipt_id"],
        line=line,
        customer_external_id=texts["customer_external_id"],
        purchased_at=purchased_at,
        store=texts["store"],
        channel=channel or "",
        sku=texts["sku"],
        product_name=texts["product_name"],
        category=texts["category"],
        quantity=quantity,
        unit_price_minor=unit_price,
        discount_minor=discount,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Events (interactions)
# ---------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventRow:
    customer_external_id: str
    anonymous_id: str
    occurred_at: dt.datetime
    type: str
    channel: str
    properties: dict
    event_key: str


def _parse_properties(value: str | None) -> dict:
    if not value or not value.strip():
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise norm.NormalisationError(t.INVALID_PROPERTIES)
    code = _control_character_within(parsed)
    if code:
        raise norm.NormalisationError(f"{t.CONTROL_CHARACTER} {code} in properties")
    return parsed


def _control_character_within(value: Any) -> str | None:
    """The first control character of a JSON value's keys and strings (a JSON escape such as \\u0000 decodes to one)."""
    if isinstance(value, str):
        return control_character(value)
    if isinstance(value, dict):
        items: Iterable[Any] = (part for pair in value.items() for part in pair)
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        code = _control_character_within(item)
        if code:
            return code
    return None


def event_key(*parts: Any) -> str:
    """The identity of an event: the same content imported twice is the same event."""
    payload = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def parse_event(raw: dict[str, str], ctx: RowContext) -> EventRow:
    reasons = Reasons()
    opts = ctx.options
    _validate_raw(raw, t.KIND_EVENTS, reasons, opts)
    customer_external_id = norm.normalise_code(raw.get("customer_external_id"))
    anonymous_id = norm.normalise_code(raw.get("anonymous_id"))
    if not customer_external_id and not anonymous_id:
        reasons.append(t.NO_CUSTOMER_OR_ANONYMOUS_ID)
    occurred_at = reasons.check(norm.parse_timestamp, raw.get("timestamp", ""), ctx.tz, opts.date_format)
    _check_timestamp(occurred_at, "timestamp", ctx, reasons)
    channel = reasons.check(_parse_channel, raw.get("channel", ""))
    properties = reasons.check(_parse_properties, raw.get("properties", ""))
    event_type = norm.normalise_key(raw.get("type"))
    texts = {"customer_external_id": customer_external_id, "anonymous_id": anonymous_id, "type": event_type}
    check_lengths(texts, EVENT_MAX_LENGTHS, reasons)
    reasons.raise_if_any()
    channel = channel or "other"
    instant = occurred_at.astimezone(dt.UTC).isoformat()
    key = event_key(customer_external_id, anonymous_id, instant, event_type, channel, properties)
    return EventRow(customer_external_id, anonymous_id, occurred_at, event_type, channel, properties, key)


# ---------------------------------------------------------------------------------------------------------------------
# Consents (the ledger's events)
# ---------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsentRow:
    customer_external_id: str
    purpose: str
    purpose_id: int
    channel: str  # "" when the consent is for the purpose as a whole
    channel_id: int | None
    status: str
    occurred_at: dt.datetime
    captured_via: str
    policy_version: str
    evidence: str
    event_key: str


# Keys as normalise_key gives them ("Opt-in" -> "opt_in").
CONSENT_STATUS_SYNONYMS = {
    **dict.fromkeys(
        ("granted", "grant", "given", "yes", "y", "true", "1", "opt_in", "optin", "oui", "subscribed"),
        ConsentStatus.GRANTED.value,
    ),
    **dict.fromkeys(
        ("withdrawn", "withdraw", "revoked", "no", "n", "false", "0", "opt_out", "optout", "non", "unsubscribed"),
        ConsentStatus.WITHDRAWN.value,
    ),
}


def _parse_purpose(value: str | None, vocabulary: ConsentVocabulary) -> int | None:
    key = norm.normalise_key(value)
    if not key:
        return None  # reported as a missing required field
    purpose_id = vocabulary.purposes.get(key)
    if purpose_id is None:
        raise norm.NormalisationError(t.UNKNOWN_PURPOSE, value)
    return purpose_id


def _parse_consent_channel(value: str | None, vocabulary: ConsentVocabulary) -> tuple[str, int | None]:
    key = norm.normalise_key(value)
    if not key:
        return "", None
    # A channel added in the admin is taken as named; otherwise the usual spellings ("e-mail", "call centre") apply.
    channel = key if key in vocabulary.channels else CHANNEL_SYNONYMS.get(key, key)
    channel_id = vocabulary.channels.get(channel)
    if channel_id is None:
        raise norm.NormalisationError(t.UNKNOWN_CHANNEL, value)
    return channel, channel_id


def _parse_consent_status(value: str | None) -> str | None:
    key = norm.normalise_key(value)
    if not key:
        return None  # reported as a missing required field
    status = CONSENT_STATUS_SYNONYMS.get(key)
    if status is None:
        raise norm.NormalisationError(t.UNKNOWN_CONSENT_STATUS, value)
    return status


# The ledger's column sizes (the ledger's own): a longer value is refused with its row, not left to fail the batch.
CONSENT_MAX_LENGTHS = LEDGER_MAX_LENGTHS


def _consent_texts(raw: dict[str, str], reasons: Reasons) -> dict[str, str]:
    texts = {
        "customer_external_id": norm.normalise_code(raw.get("customer_external_id")),
        "source": norm.normalise_key(raw.get("source")),
        "policy_version": norm.normalise_code(raw.get("policy_version")),
        "evidence": norm.normalise_text(raw.get("evidence")),
    }
    check_lengths(texts, CONSENT_MAX_LENGTHS, reasons)
    return texts


def parse_consent(raw: dict[str, str], ctx: RowContext) -> ConsentRow:
    reasons = Reasons()
    opts = ctx.options
    vocabulary = ctx.consent_vocabulary
    _validate_raw(raw, t.KIND_CONSENTS, reasons, opts)
    texts = _consent_texts(raw, reasons)
    purpose_id = reasons.check(_parse_purpose, raw.get("purpose", ""), vocabulary)
    channel, channel_id = reasons.check(_parse_consent_channel, raw.get("channel", ""), vocabulary) or ("", None)
    status = reasons.check(_parse_consent_status, raw.get("status", ""))
    occurred_at = reasons.check(norm.parse_timestamp, raw.get("timestamp", ""), ctx.tz, opts.date_format)
    _check_timestamp(occurred_at, "timestamp", ctx, reasons)
    reasons.raise_if_any()
    purpose = norm.normalise_key(raw["purpose"])
    instant = occurred_at.astimezone(dt.UTC).isoformat()
    content = (texts["customer_external_id"], purpose, channel, status, instant)
    content += (texts["source"], texts["policy_version"], texts["evidence"])
    return ConsentRow(
        customer_external_id=texts["customer_external_id"],
        purpose=purpose,
        purpose_id=purpose_id,
        channel=channel,
        channel_id=channel_id,
        status=status,
        occurred_at=occurred_at,
        captured_via=texts["source"],
        policy_version=texts["policy_version"],
        evidence=texts["evidence"],
        event_key=ledger_event_key(*content),
    )


PARSERS = {
    t.KIND_CUSTOMERS: parse_customer,
    t.KIND_TRANSACTIONS: parse_transaction,
    t.KIND_EVENTS: parse_event,
    t.KIND_CONSENTS: parse_consent,
}
