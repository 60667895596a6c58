"""The demo pipeline's identity step: one full resolution run after the imports."""

from __future__ import annotations

from cdp.pipeline import DemoContext, register_demo_step


def identity_step(ctx: DemoContext) -> str:
    from cdp.identity.services import identity_resolve_all

    run = identity_resolve_all()
    return (
        f"{run.records} source records → {run.customers_after} customers "
        f"({run.merges} merges, {run.reviews_created} pairs queued for review, {run.seconds:.1f}s)"
    )


def register() -> None:
    register_demo_step(30, "identity", identity_step)
