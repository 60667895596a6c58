"""The demo pipeline's steps: the core registers generation and import; later apps add theirs at start-up.

`cdp` never imports the apps that build on it; they register a step here in their AppConfig.ready(), the same way
they register personal data with `consent`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoContext:
    data_dir: Path
    customers: int
    seed: int
    write: Callable[[str], None]


@dataclass(frozen=True)
class DemoStep:
    order: int
    name: str
    run: Callable[[DemoContext], str]  # returns a one-line account of what it did


_STEPS: dict[str, DemoStep] = {}


def register_demo_step(order: int, name: str, run: Callable[[DemoContext], str]) -> None:
    """Add a step to `manage.py demo`; steps run by ascending order. Registering a name again replaces it."""
    _STEPS[name] = DemoStep(order, name, run)


def demo_steps() -> list[DemoStep]:
    return sorted(_STEPS.values(), key=lambda step: (step.order, step.name))
