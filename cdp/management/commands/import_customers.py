"""`import_customers PATH --source NAME`: columns in DESIGN.md; exits 0, 1 (rows rejected) or 2 (unusable file)."""

from cdp.ingest.types import KIND_CUSTOMERS
from cdp.management.import_command import ImportCommand


class Command(ImportCommand):
    help = "Import customers from a CSV file."
    kind = KIND_CUSTOMERS
