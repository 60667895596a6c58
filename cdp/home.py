"""The home page's sections that later apps fill (the sales briefs of `campaigns`), registered at start-up the way
profile panels are: `cdp` never imports those apps, and a missing app leaves its placeholder in place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class HomeSection:
    key: str
    template: str
    context: Callable[[Any], dict | None]  # the user -> the template's context, or None to show nothing


_SECTIONS: dict[str, HomeSection] = {}


def register_home_section(*, key: str, template: str, context: Callable[[Any], dict | None]) -> None:
    if not template.endswith(".html") or not callable(context):
        raise ImproperlyConfigured(f"home section {key!r}: an HTML template and a callable taking the user")
    _SECTIONS[key] = HomeSection(key, template, context)


def home_section(key: str, user) -> tuple[str, dict] | None:
    """(template, context) of the section `key` for `user`, or None (no app fills it, or nothing to show)."""
    section = _SECTIONS.get(key)
    if section is None:
        return None
    context = section.context(user)
    return None if context is None else (section.template, context)
