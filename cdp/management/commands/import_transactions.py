"""`import_transactions PATH --source NAME`: columns in DESIGN.md; exits 0, 1 (rows rejected) or 2 (unusable file)."""

from cdp.ingest.types import KIND_TRANSACTIONS
from cdp.management.import_command import ImportCommand


class Command(ImportCommand):
    help = "Import transactions from a CSV file."
    kind = KIND_TRANSACTIONS
