"""The profile's panels: later apps (segments, campaigns, consent) show their data on the 360° profile through them.

`cdp` never imports those apps. Each registers its panels in its AppConfig.ready(). `cdp` holds the slots later apps
fill ("segment", "churn_risk", ...) with placeholders: a real panel wins over a placeholder of the same key whatever
the order the apps start in, and two apps registering a real panel under one key is an error (ImproperlyConfigured);
an app registering its own key again (its ready() run twice) replaces it. The registry checks what it gets at the
door, so a mistake fails at start-up rather than on a customer's page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from cdp.models import Customer

_KEY = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class ProfilePanel:
    key: str
    title: Any  # a (lazily translated) string
    order: int
    template: str
    context: Callable[[Customer], dict]
    api: Callable[[Customer], dict] | None = None


@dataclass(frozen=True)
class RenderedPanel:
    """What the profile page includes: the panel's template with the context its app computed."""

    key: str
    title: Any
    template: str
    context: dict


_PANELS: dict[str, ProfilePanel] = {}
_PLACEHOLDERS: dict[str, ProfilePanel] = {}  # slots held for later apps: shown until a real panel takes the key


def register_profile_panel(
    *,
    key: str,
    title: Any,
    order: int,
    template: str,
    context: Callable[[Customer], dict],
    api: Callable[[Customer], dict] | None = None,
    placeholder: bool = False,
) -> None:
    """Show a panel on every profile page (ascending order), and `api(customer)` under `panels.<key>` in the API.

    `placeholder` holds a slot until an app registers the real panel of that key."""
    if not _KEY.fullmatch(key):
        raise ImproperlyConfigured(f"profile panel key {key!r}: lower-case letters, digits and underscores")
    if not callable(context) or (api is not None and not callable(api)):
        raise ImproperlyConfigured(f"profile panel {key!r}: context and api must be callables taking a customer")
    if not template.endswith(".html"):
        raise ImproperlyConfigured(f"profile panel {key!r}: template {template!r} is not an HTML template")
    panel = ProfilePanel(key=key, title=title, order=order, template=template, context=context, api=api)
    if placeholder:
        _PLACEHOLDERS[key] = panel
        return
    owner = _owner(context)
    if key in _PANELS and _owner(_PANELS[key].context) != owner:
        raise ImproperlyConfigured(
            f"profile panel {key!r} is registered by two apps ({_owner(_PANELS[key].context)} and {owner})"
        )
    _PANELS[key] = panel


def _owner(context: Callable) -> str:
    """The app (top-level package) a panel comes from, by the module of its context callable."""
    return (getattr(context, "__module__", "") or "").split(".")[0]


def profile_panels() -> list[ProfilePanel]:
    """The real panels, and the placeholders of the slots no app fills, in order."""
    shown = {**_PLACEHOLDERS, **_PANELS}
    return sorted(shown.values(), key=lambda panel: (panel.order, panel.key))


def panels_render(customer: Customer) -> list[RenderedPanel]:
    """Each panel's template and context for this customer, in order."""
    return [
        RenderedPanel(key=panel.key, title=panel.title, template=panel.template, context=panel.context(customer))
        for panel in profile_panels()
    ]


def panels_api(customer: Customer) -> dict[str, dict]:
    """`{key: api(customer)}` for the panels that have an API side."""
    return {panel.key: panel.api(customer) for panel in profile_panels() if panel.api is not None}
