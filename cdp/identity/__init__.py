"""Identity resolution: links source records into customers (golden records), with merge, unmerge and review."""

from cdp.identity.golden import GOLDEN_FIELDS, customers_refresh_golden, golden_values

__all__ = ["GOLDEN_FIELDS", "customers_refresh_golden", "golden_values"]
