"""Core profile domain: sources, golden records, source records, identifiers, catalogue, receipts, interactions.

Money is stored as integer minor units (cents) beside a currency code: exact, and cheaper to aggregate than
``numeric`` in PostgreSQL. People always see decimals (``cdp.money``).
"""

from __future__ import annotations

import uuid

from simple_history.models import HistoricalRecords

from django.db import models
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from cdp.money import format_minor


class Gender(models.TextChoices):
    FEMALE = "f", _("Female")
    MALE = "m", _("Male")
    OTHER = "x", _("Other")
    UNKNOWN = "", _("Unknown")


class PersonFields(models.Model):
    """The identity attributes a source record carries and a golden record chooses among."""

    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=32, blank=True, help_text="E.164")
    birth_date = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=1, choices=Gender.choices, blank=True)
    address = models.CharField(max_length=255, blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")

    PERSON_FIELDS = (
        "first_name",
        "last_name",
        "email",
        "phone",
        "birth_date",
        "gender",
        "address",
        "postcode",
        "city",
        "country",
    )

    class Meta:
        abstract = True

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class Source(models.Model):
    """A system customer data comes from: a CRM, an e-shop, a loyalty programme, a till system."""

    class Kind(models.TextChoices):
        CRM = "crm", "CRM"
        ECOMMERCE = "ecommerce", "E-commerce"
        LOYALTY = "loyalty", "Loyalty programme"
        POS = "pos", "Point of sale"
        API = "api", "API integration"
        OTHER = "other", "Other"

    key = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="Survivorship: for each profile field the source with the lowest number wins."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["priority", "key"]

    def __str__(self) -> str:
        return self.name or self.key


class CustomerQuerySet(models.QuerySet):
    def active(self) -> CustomerQuerySet:
        return self.filter(status=Customer.Status.ACTIVE)


class Customer(PersonFields):
    """The golden record: one person, unified across sources."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        MERGED = "merged", "Merged into another customer"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_customers"
    )
    field_sources = models.JSONField(
        default=dict, blank=True, help_text="For each profile field, the key of the source it was taken from."
    )
    signup_date = models.DateField(null=True, blank=True, help_text="Earliest signup across sources.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Name search keys, derived from the names by cdp.profile.search: NULL until computed, "" without a name.
    search_name = models.CharField(max_length=255, null=True, blank=True, editable=False)  # noqa: DJ001
    search_name_reversed = models.CharField(max_length=255, null=True, blank=True, editable=False)  # noqa: DJ001

    history = HistoricalRecords(excluded_fields=["search_name", "search_name_reversed"])
    objects = CustomerQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["last_name", "first_name"], name="customer_name_idx"),
            models.Index(fields=["email"], name="customer_email_idx"),
            models.Index(fields=["phone"], name="customer_phone_idx"),
            models.Index(fields=["postcode"], name="customer_postcode_idx"),
            models.Index(fields=["status", "created_at"], name="customer_status_idx"),
            # A name search reads only these two (cdp.profile.search); with status, the active customers of a key.
            models.Index(fields=["search_name", "status"], name="customer_search_name_idx"),
            models.Index(fields=["search_name_reversed", "search_name"], name="customer_search_rev_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="active", merged_into__isnull=True) | Q(status="merged", merged_into__isnull=False),
                name="customer_merged_has_target",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or f"Customer {str(self.id)[:8]}"


class SourceRecord(PersonFields):
    """A customer as one source knows it, kept whole: the raw attributes and the golden record it is linked to."""

    # No index of their own: the unique (source, external_id) and sourcerecord_customer_idx serve these keys, and
    # every index is written again for each of the records an import brings.
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="records", db_index=False)
    external_id = models.CharField(max_length=128)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="source_records", db_index=False
    )
    signup_date = models.DateField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True, help_text="Columns of the source that have no field.")
    content_hash = models.CharField(
        max_length=64, blank=True, help_text="Hash of the imported values: an unchanged re-import writes nothing."
    )
    # Blocking keys of identity resolution (cdp.identity.features), stored so that a new record finds its
    # candidates through indexes instead of a full re-run.
    match_family = models.CharField(max_length=4, blank=True, help_text="Phonetic code of the family name.")
    match_given = models.CharField(max_length=4, blank=True, help_text="Phonetic code of the given name.")
    match_name = models.CharField(max_length=8, blank=True, help_text="Phonetic codes of family and given names.")
    match_address = models.CharField(max_length=255, blank=True, help_text="House number and street, normalised.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="sourcerecord_unique_external_id"),
        ]
        indexes = [
            models.Index(fields=["customer"], name="sourcerecord_customer_idx"),
            models.Index(fields=["last_name", "first_name"], name="sourcerecord_name_idx"),
            models.Index(fields=["postcode"], name="sourcerecord_postcode_idx"),
            models.Index(fields=["email"], name="sourcerecord_email_idx"),
            models.Index(fields=["phone"], name="sourcerecord_phone_idx"),
            models.Index(fields=["match_family", "birth_date"], name="sourcerecord_family_dob_idx"),
            models.Index(fields=["match_given", "birth_date"], name="sourcerecord_given_dob_idx"),
            models.Index(fields=["match_name", "postcode"], name="sourcerecord_name_key_idx"),
            models.Index(fields=["match_address", "postcode"], name="sourcerecord_address_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.external_id}"


class Identifier(models.Model):
    """A normalised identifier (e-mail, phone, external id, card number) that points at a customer."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")
        EXTERNAL_ID = "external_id", _("Source external id")
        LOYALTY_CARD = "loyalty_card", _("Loyalty card")
        CUSTOMER_NUMBER = "customer_number", _("Customer number")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.CharField(max_length=254, help_text="Normalised: lower-case e-mail, E.164 phone, source:id.")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="identifiers")
    # indexed by the unique (source_record, kind, value), which it leads
    source_record = models.ForeignKey(
        SourceRecord, on_delete=models.CASCADE, related_name="identifiers", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source_record", "kind", "value"], name="identifier_unique_per_record"),
        ]
        indexes = [
            models.Index(fields=["kind", "value"], name="identifier_value_idx"),
            models.Index(fields=["value"], name="identifier_value_only_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class Store(models.Model):
    """Where a purchase or an interaction happened: a physical store, or a channel such as the web shop."""

    class Kind(models.TextChoices):
        STORE = "store", "Store"
        WEB = "web", "Web shop"
        APP = "app", "Mobile app"
        CALL_CENTRE = "call_centre", "Call centre"
        MARKETPLACE = "marketplace", "Marketplace"

    code = models.CharField(max_length=50, unique=True)
    name = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.STORE)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name or self.code


class Category(models.Model):
    key = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=150)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255, blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}".strip()


class Receipt(models.Model):
    """A till receipt or an online order. Anonymous when no customer is known (yet)."""

    # No index of their own on source and customer: the unique (source, receipt_id) and the index (customer,
    # purchased_at) start with them and serve every lookup; each index more slows every receipt written.
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="receipts", db_index=False)
    receipt_id = models.CharField(max_length=128)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="receipts", db_index=False
    )
    customer_external_id = models.CharField(
        max_length=128, blank=True, help_text="The customer's id in the source; kept so a later record links it."
    )
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="receipts")
    channel = models.CharField(max_length=20, blank=True)
    purchased_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    total_minor = models.BigIntegerField(default=0, help_text="Net amount after discounts, in minor units.")
    discount_minor = models.BigIntegerField(default=0)
    item_count = models.IntegerField(default=0, help_text="Sum of quantities; negative for a return.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "receipt_id"], name="receipt_unique_per_source"),
        ]
        indexes = [
            models.Index(fields=["customer", "purchased_at"], name="receipt_customer_date_idx"),
            models.Index(fields=["purchased_at"], name="receipt_date_idx"),
            models.Index(
                fields=["source", "customer_external_id"],
                name="receipt_unlinked_idx",
                condition=Q(customer__isnull=True) & ~Q(customer_external_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.receipt_id}"

    @property
    def total_display(self) -> str:
        return format_minor(self.total_minor, self.currency)

    @property
    def is_return(self) -> bool:
        return self.item_count < 0


class ReceiptLine(models.Model):
    # The unique (receipt, line_no) starts with receipt and serves its lookups: no second index on the biggest table.
    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_no = models.PositiveIntegerField()
    # No index on product either: nothing reads lines by product (analytics scan them whole), and keeping one costs
    # about a third of the time to write a line (a few thousand products, millions of duplicate keys). Deleting a
    # product, the one lookup by product (its PROTECT check), scans the table once.
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="receipt_lines", db_index=False)
    quantity = models.IntegerField(help_text="Negative for a returned item.")
    unit_price_minor = models.BigIntegerField()
    discount_minor = models.BigIntegerField(default=0)
    amount_minor = models.BigIntegerField(help_text="quantity × unit price − discount, in minor units.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["receipt", "line_no"], name="receiptline_unique_line"),
            models.CheckConstraint(condition=Q(unit_price_minor__gte=0), name="receiptline_price_not_negative"),
            models.CheckConstraint(condition=Q(discount_minor__gte=0), name="receiptline_discount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_id}#{self.line_no}"


class Interaction(models.Model):
    """A web, app, e-mail, store or call-centre event. Anonymous (a cookie or device id) when no customer is known."""

    class Channel(models.TextChoices):
        WEB = "web", _("Web")
        APP = "app", _("App")
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")
        STORE = "store", _("Store")
        PHONE = "phone", _("Phone / call centre")
        POST = "post", _("Post")
        OTHER = "other", _("Other")

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="interactions")
    event_key = models.CharField(
        max_length=64, help_text="Hash of the event's content: the same event imported twice is stored once."
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    customer_external_id = models.CharField(max_length=128, blank=True)
    anonymous_id = models.CharField(max_length=128, blank=True)
    occurred_at = models.DateTimeField()
    type = models.CharField(max_length=50)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.OTHER)
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "event_key"], name="interaction_unique_event"),
        ]
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="interaction_customer_date_idx"),
            models.Index(fields=["occurred_at"], name="interaction_date_idx"),
            models.Index(
                fields=["source", "customer_external_id"],
                name="interaction_unlinked_idx",
                condition=Q(customer__isnull=True) & ~Q(customer_external_id=""),
            ),
            # Erasure finds the events of a subject's cookie or device ids (consent's registry, "anonymous").
            models.Index(fields=["anonymous_id"], name="interaction_anonymous_idx", condition=~Q(anonymous_id="")),
        ]

    def __str__(self) -> str:
        day = formats.date_format(timezone.localtime(self.occurred_at), "SHORT_DATE_FORMAT")
        return f"{self.type} ({self.channel}) {day}"


class ImportBatch(models.Model):
    """One import of a file or an API batch: what came in, what it changed, and how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Succeeded with rejected rows"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted"

    kind = models.CharField(max_length=20)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="imports")
    origin = models.CharField(max_length=255, blank=True, help_text="File name (without its folder) or 'api'.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    idempotency_key = models.CharField(
        max_length=128, blank=True, help_text="API batches: the caller's retry of the same body is a no-op."
    )
    request_digest = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the API batch's parameters: a key stands for this body only."
    )
    actor = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="import_batches"
    )
    options = models.JSONField(default=dict, blank=True)
    read = models.IntegerField(default=0)
    created = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    row_errors = models.JSONField(
        default=list, blank=True, help_text="Row numbers and reasons of rejected rows (API batches); never the values."
    )
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name_plural = "import batches"
        # Each kind of data is a right of its own (the API's ingest endpoints and the roles check them); consents
        # are consent.import_consentevent.
        permissions = [
            ("import_customers", "Can import customers"),
            ("import_transactions", "Can import receipt lines"),
            ("import_events", "Can import events"),
        ]
        constraints = [
            # An Idempotency-Key is its caller's, for one endpoint (kind): another user's key is another batch.
            models.UniqueConstraint(
                fields=["actor", "kind", "idempotency_key"],
                name="importbatch_unique_idempotency_key",
                condition=~Q(idempotency_key=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} from {self.source_id} ({self.get_status_display()})"


class ResolutionRun(models.Model):
    """One full identity resolution: its parameters, the trained model (m/u weights), and what it linked."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    actor = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    parameters = models.JSONField(default=dict, blank=True, help_text="Thresholds, blocking rules, seed, prior.")
    model = models.JSONField(default=dict, blank=True, help_text="The trained splink model (reused at import).")
    weights = models.JSONField(default=dict, blank=True, help_text="Per comparison level: m, u and match weight.")
    records = models.IntegerField(default=0)
    candidate_pairs = models.IntegerField(default=0)
    links_auto = models.IntegerField(default=0, help_text="Pairs above the upper threshold.")
    links_review = models.IntegerField(default=0, help_text="Pairs between the thresholds.")
    links_below = models.IntegerField(default=0, help_text="Candidate pairs below the review threshold.")
    links_refused = models.IntegerField(default=0, help_text="Links above the review threshold a rule kept apart.")
    reviews_created = models.IntegerField(default=0)
    customers_before = models.IntegerField(default=0)
    customers_after = models.IntegerField(default=0)
    merges = models.IntegerField(default=0)
    seconds = models.FloatField(default=0)
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Resolution run {self.pk} ({self.get_status_display()})"


class MergeReview(models.Model):
    """A pair of source records the model could not decide: a person accepts (merge) or rejects it, with a reason."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    left = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="+")
    right = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField()
    levels = models.JSONField(default=dict, blank=True, help_text="Per compared field, the level the pair fell in.")
    why = models.TextField(blank=True, help_text="Why the pair waits for a person: its band, or the rule that held it.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    run = models.ForeignKey(ResolutionRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews")
    decided_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-probability"]
        constraints = [
            models.UniqueConstraint(fields=["left", "right"], name="mergereview_unique_pair"),
            models.CheckConstraint(condition=Q(left__lt=models.F("right")), name="mergereview_ordered_pair"),
        ]
        indexes = [models.Index(fields=["status", "-probability"], name="mergereview_queue_idx")]

    def __str__(self) -> str:
        return f"Review {self.left_id} / {self.right_id} ({self.probability:.3f})"


class MergeEvent(models.Model):
    """Audit of a merge or an unmerge: who, when, why, and what moved (so an unmerge can put it back)."""

    class Kind(models.TextChoices):
        MERGE = "merge", "Merge"
        UNMERGE = "unmerge", "Unmerge"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    # related_name "+": merges re-point every relation of Customer, never their own audit rows.
    survivor = models.ForeignKey(Customer, null=True, on_delete=models.SET_NULL, related_name="+")
    other_id = models.UUIDField(help_text="The customer merged into the survivor, or split out of it.")
    actor = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)
    source_record_ids = models.JSONField(default=list, blank=True)
    moved = models.JSONField(default=dict, blank=True, help_text="Other rows re-pointed: model label -> ids.")
    run = models.ForeignKey(ResolutionRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    review = models.ForeignKey(MergeReview, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    undone = models.BooleanField(default=False, help_text="A merge that an unmerge has undone.")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["other_id", "kind"], name="mergeevent_other_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.other_id} / {self.survivor_id}"


class FeatureSnapshot(models.Model):
    """Behavioural features of the customers who may be profiled, as of a date: one version of the feature matrix.

    Segmentation runs and scores name the snapshot they learned from; its rows (CustomerFeatures) hold each
    customer's values in the order of ``names``.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    as_of = models.DateTimeField(help_text="Nothing at or after this moment was read.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    names = models.JSONField(default=list, blank=True, help_text="Feature names, in the order of each row's values.")
    features = models.JSONField(default=list, blank=True, help_text="Each feature's label, kind and phrase.")
    customers = models.IntegerField(default=0, help_text="Customers in the snapshot.")
    processable = models.IntegerField(default=0, help_text="Customers who may be profiled on that date.")
    currency = models.CharField(max_length=3, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    seconds = models.FloatField(default=0)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Features as of {self.as_of:%Y-%m-%d} ({self.customers} customers)"


class CustomerFeatures(models.Model):
    """One customer's feature values in a snapshot (float64, in the snapshot's order).

    related_name "+": a merge re-points every relation of Customer, but a snapshot is what was known on its date.
    """

    snapshot = models.ForeignKey(FeatureSnapshot, on_delete=models.CASCADE, related_name="rows")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    values = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "customer"], name="customerfeatures_unique_customer"),
        ]
        indexes = [models.Index(fields=["customer"], name="customerfeatures_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} in snapshot {self.snapshot_id}"
