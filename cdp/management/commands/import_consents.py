"""`import_consents PATH --source NAME`: columns in DESIGN.md; exits 0, 1 (rows rejected) or 2 (unusable file)."""

from cdp.ingest.types import KIND_CONSENTS
from cdp.management.import_command import ImportCommand


class Command(ImportCommand):
    help = "Import consent events (grants and withdrawals) from a CSV file into the consent ledger."
    kind = KIND_CONSENTS
