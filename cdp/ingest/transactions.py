"""Writing a batch of receipt lines: catalogue, receipts and lines upserted, totals recomputed in the database."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from cdp.db import bulk_insert
from cdp.ingest.rows import TransactionRow
from cdp.models import Category, Product, Receipt, ReceiptLine, Source, SourceRecord, Store

STORE_KIND_OF_CHANNEL = {"web": Store.Kind.WEB, "app": Store.Kind.APP, "phone": Store.Kind.CALL_CENTRE}
LINE_FIELDS = ("product_id", "quantity", "unit_price_minor", "discount_minor", "amount_minor")
HEADER_FIELDS = ("customer_id", "customer_external_id", "store_id", "channel", "purchased_at")
RECEIPT_INSERT_FIELDS = (
    "source_id",
    "receipt_id",
    "currency",
    "created_at",
    "total_minor",
    "discount_minor",
    "item_count",
    *HEADER_FIELDS,
)


class Catalogue:
    """Stores, categories and products by their codes, cached for the whole import (they are few)."""

    def __init__(self) -> None:
        self.stores: dict[str, int] = {}
        self.categories: dict[str, int] = {}
        self.products: dict[str, tuple[int, str, int | None]] = {}

    def ensure_stores(self, rows: list[TransactionRow]) -> None:
        wanted = {row.store: row.channel for row in rows if row.store and row.store not in self.stores}
        if not wanted:
            return
        self.stores.update(Store.objects.filter(code__in=wanted).values_list("code", "id"))
        missing = [code for code in wanted if code not in self.stores]
        Store.objects.bulk_create(
            [Store(code=code, kind=STORE_KIND_OF_CHANNEL.get(wanted[code], Store.Kind.STORE)) for code in missing],
            ignore_conflicts=True,
        )
        self.stores.update(Store.objects.filter(code__in=missing).values_list("code", "id"))

    def ensure_categories(self, rows: list[TransactionRow]) -> None:
        wanted = {row.category for row in rows if row.category and row.category not in self.categories}
        if not wanted:
            return
        self.categories.update(Category.objects.filter(key__in=wanted).values_list("key", "id"))
        missing = [key for key in wanted if key not in self.categories]
        Category.objects.bulk_create(
            [Category(key=key, name=key.replace("_", " ").capitalize()) for key in missing], ignore_conflicts=True
        )
        self.categories.update(Category.objects.filter(key__in=missing).values_list("key", "id"))

    def ensure_products(self, rows: list[TransactionRow]) -> None:
        """New SKUs are created; a changed name or category (the latest row's) updates the product."""
        latest = {row.sku: row for row in rows}
        unknown = [sku for sku in latest if sku not in self.products]
        for sku, product_id, name, category_id in Product.objects.filter(sku__in=unknown).values_list(
            "sku", "id", "name", "category_id"
        ):
            self.products[sku] = (product_id, name, category_id)
        missing = [sku for sku in latest if sku not in self.products]
        Product.objects.bulk_create(
            [
                Product(sku=sku, name=latest[sku].product_name, category_id=self.categories.get(latest[sku].category))
                for sku in missing
            ],
            ignore_conflicts=True,
        )
        for sku, product_id, name, category_id in Product.objects.filter(sku__in=missing).values_list(
            "sku", "id", "name", "category_id"
        ):
            self.products[sku] = (product_id, name, category_id)
        self._update_changed(latest)

    def _update_changed(self, latest: dict[str, TransactionRow]) -> None:
        changed = []
        for sku, row in latest.items():
            product_id, name, category_id = self.products[sku]
            new_name = row.product_name or name
            new_category = self.categories.get(row.category, category_id) if row.category else category_id
            if (new_name, new_category) != (name, category_id):
                changed.append(Product(id=product_id, sku=sku, name=new_name, category_id=new_category))
                self.products[sku] = (product_id, new_name, new_category)
        if changed:
            Product.objects.bulk_update(changed, ["name", "category_id"])


def _customers_of(source: Source, rows: list[TransactionRow]) -> dict[str, object]:
    external_ids = {row.customer_external_id for row in rows if row.customer_external_id}
    return dict(
        SourceRecord.objects.filter(source=source, external_id__in=external_ids).values_list(
            "external_id", "customer_id"
        )
    )


def _upsert_receipts(
    source: Source, rows: list[TransactionRow], catalogue: Catalogue, currency: str
) -> dict[str, Receipt]:
    customers = _customers_of(source, rows)
    headers: dict[str, TransactionRow] = {}
    for row in rows:
        headers.setdefault(row.receipt_id, row)
    receipts = {r.receipt_id: r for r in Receipt.objects.filter(source=source, receipt_id__in=list(headers))}
    new, changed = [], []
    now = timezone.now()
    for receipt_id, row in headers.items():
        values = {
            "customer_id": customers.get(row.customer_external_id),
            "customer_external_id": row.customer_external_id,
            "store_id": catalogue.stores.get(row.store),
            "channel": row.channel,
            "purchased_at": row.purchased_at,
        }
        receipt = receipts.get(receipt_id)
        if receipt is None:
            receipt = Receipt(source=source, receipt_id=receipt_id, currency=currency, created_at=now, **values)
            receipts[receipt_id] = receipt
            new.append(receipt)
        elif any(getattr(receipt, name) != value for name, value in values.items()):
            if receipt.customer_id and not values["customer_id"]:
                values["customer_id"] = receipt.customer_id  # linked later by identity resolution: keep the link
            for name, value in values.items():
                setattr(receipt, name, value)
            changed.append(receipt)
    bulk_insert(
        Receipt,
        RECEIPT_INSERT_FIELDS,
        (
            (r.source_id, r.receipt_id, r.currency, r.created_at, 0, 0, 0, *(getattr(r, f) for f in HEADER_FIELDS))
            for r in new
        ),
    )
    if new:
        ids = dict(
            Receipt.objects.filter(source=source, receipt_id__in=[r.receipt_id for r in new]).values_list(
                "receipt_id", "id"
            )
        )
        for receipt in new:
            receipt.pk = ids[receipt.receipt_id]
    if changed:
        Receipt.objects.bulk_update(changed, list(HEADER_FIELDS))
    return receipts


def _number_lines(rows: list[TransactionRow], next_line: dict[str, int]) -> list[tuple[TransactionRow, int]]:
    """A row without a line number is the next line of its receipt, in file order."""
    numbered = []
    for row in rows:
        if row.line is not None:
            numbered.append((row, row.line))
        else:
            next_line[row.receipt_id] = next_line.get(row.receipt_id, 0) + 1
            numbered.append((row, next_line[row.receipt_id]))
    return numbered


def _upsert_lines(
    numbered: list[tuple[TransactionRow, int]], receipts: dict[str, Receipt], catalogue: Catalogue
) -> tuple[int, int, int]:
    receipt_ids = {receipt.pk for receipt in receipts.values()}
    existing = {
        (line.receipt_id, line.line_no): line for line in ReceiptLine.objects.filter(receipt_id__in=receipt_ids)
    }
    new, changed = [], []
    for row, line_no in numbered:
        receipt = receipts[row.receipt_id]
        values = {
            "product_id": catalogue.products[row.sku][0],
            "quantity": row.quantity,
            "unit_price_minor": row.unit_price_minor,
            "discount_minor": row.discount_minor,
            "amount_minor": row.quantity * row.unit_price_minor - row.discount_minor,
        }
        line = existing.get((receipt.pk, line_no))
        if line is None:
            new.append((receipt.pk, line_no, *values.values()))
        elif any(getattr(line, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(line, name, value)
            changed.append(line)
    bulk_insert(ReceiptLine, ("receipt_id", "line_no", *LINE_FIELDS), new)
    if changed:
        ReceiptLine.objects.bulk_update(changed, list(LINE_FIELDS))
    return len(new), len(changed), len(numbered) - len(new) - len(changed)


def _line_sum(column: str) -> Coalesce:
    lines = ReceiptLine.objects.filter(receipt_id=OuterRef("pk")).order_by().values("receipt_id")
    return Coalesce(Subquery(lines.annotate(total=Sum(column)).values("total")), 0)


def refresh_receipt_totals(receipt_ids: set[int]) -> None:
    """Totals are sums over the lines, computed by the database in one UPDATE (a receipt may span batches)."""
    Receipt.objects.filter(pk__in=receipt_ids).update(
        total_minor=_line_sum("amount_minor"),
        discount_minor=_line_sum("discount_minor"),
        item_count=_line_sum("quantity"),
    )


def write_transactions(
    source: Source, rows: list[TransactionRow], *, catalogue: Catalogue, next_line: dict[str, int], currency: str
) -> tuple[int, int, int]:
    """Upsert one batch (inside the caller's transaction). Returns (created, updated, unchanged) counted in lines."""
    catalogue.ensure_stores(rows)
    catalogue.ensure_categories(rows)
    catalogue.ensure_products(rows)
    receipts = _upsert_receipts(source, rows, catalogue, currency)
    counts = _upsert_lines(_number_lines(rows, next_line), receipts, catalogue)
    if counts[0] or counts[1]:
        refresh_receipt_totals({receipts[row.receipt_id].pk for row in rows})
    return counts
