"""The core's demo steps: generate the demo retailer's files, then import them through the importers."""

from __future__ import annotations

from cdp.demo.generator import generate
from cdp.ingest.service import import_file
from cdp.ingest.types import KIND_CONSENTS, KIND_CUSTOMERS, KIND_EVENTS, KIND_TRANSACTIONS
from cdp.pipeline import DemoContext, register_demo_step

# (kind, file, source) in the order that lets consents, receipts and events find their customers.
DEMO_IMPORTS = (
    (KIND_CUSTOMERS, "customers_crm.csv", "crm"),
    (KIND_CUSTOMERS, "customers_eshop.csv", "eshop"),
    (KIND_CUSTOMERS, "customers_loyalty.csv", "loyalty"),
    (KIND_CONSENTS, "consents_crm.csv", "crm"),
    (KIND_CONSENTS, "consents_eshop.csv", "eshop"),
    (KIND_TRANSACTIONS, "transactions_loyalty.csv", "loyalty"),
    (KIND_TRANSACTIONS, "transactions_eshop.csv", "eshop"),
    (KIND_EVENTS, "events_eshop.csv", "eshop"),
    (KIND_EVENTS, "events_crm.csv", "crm"),
)


def generate_step(ctx: DemoContext) -> str:
    summary = generate(ctx.data_dir, customers=ctx.customers, seed=ctx.seed)
    return f"generated into {ctx.data_dir}: {summary.line()}"


BAD_ROWS = (
    "The demo's files carry deliberately flawed rows, as real exports do (digits swapped into an impossible birth "
    "date, a broken e-mail...): the importers refused {count} and kept every other row; each refused row is listed "
    "with its reasons in {where}."
)
NO_BAD_ROWS = "The demo's files may carry deliberately flawed rows, as real exports do: none was drawn this time."


def import_step(ctx: DemoContext) -> str:
    rejected = 0
    for kind, name, source in DEMO_IMPORTS:
        errors_path = ctx.data_dir / "errors" / name
        result = import_file(kind=kind, path=ctx.data_dir / name, source_key=source, errors_path=errors_path)
        rejected += result.rejected
        refused = f" (refused rows and their reasons: {errors_path})" if result.rejected else ""
        ctx.write(f"  {name}: {result.summary()}{refused}")
    ctx.write(BAD_ROWS.format(count=_rows(rejected), where=ctx.data_dir / "errors") if rejected else NO_BAD_ROWS)
    return f"imported {len(DEMO_IMPORTS)} files ({_rows(rejected)} refused on purpose, see above)"


def _rows(count: int) -> str:
    return "1 row" if count == 1 else f"{count:,} rows"


def register() -> None:
    from cdp.demo.requests import requests_step

    register_demo_step(10, "generate", generate_step)
    register_demo_step(20, "import", import_step)
    # After identity resolution: the requests name customers as they will stay.
    register_demo_step(95, "requests", requests_step)
