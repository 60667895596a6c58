"""Template filters that show the consent app's stored names and keys as words in the reader's language."""

from __future__ import annotations

from django import template

from consent import vocabulary

register = template.Library()


@register.filter
def stored_text(text: str) -> str:
    return vocabulary.stored_text(text)


@register.filter
def consent_source(key: str) -> str:
    return vocabulary.source_label(key)


@register.filter
def captured_via(key: str) -> str:
    return vocabulary.captured_via_label(key)
