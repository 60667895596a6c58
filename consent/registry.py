"""The personal-data registry: every model that holds a subject's data, how to find its rows, and what erasure does.

Apps register their models in AppConfig.ready() (consent imports none of them: the subject model is named by the
setting PERSONAL_DATA_SUBJECT_MODEL, "cdp.Customer"). The registry checks what it gets at the door: the path to the
subject must resolve through the model's relations, and keeping or anonymising data needs its legal reason.
Historical tables (django-simple-history) of a registered model are covered with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models import Q


class Erasure(models.TextChoices):
    DELETE = "delete", "Deleted"
    ANONYMISE = "anonymise", "Kept, anonymised and unlinked"
    KEEP = "keep", "Kept (holds no personal data once its parent is anonymised)"


@dataclass(frozen=True)
class PersonalData:
    model: type[models.Model]
    subject_paths: tuple[str, ...]  # ORM paths from the model to the subject's primary key ("pk" for the subject)
    erasure: str
    anonymise: tuple[str, ...] = ()
    reason: str = ""

    def rows_of(self, subject_id) -> models.QuerySet:
        """The rows of this model that belong to the subject."""
        condition = Q()
        for path in self.subject_paths:
            condition |= Q(**{path: subject_id})
        return self.model._default_manager.filter(condition)


def subject_model() -> type[models.Model]:
    return apps.get_model(getattr(settings, "PERSONAL_DATA_SUBJECT_MODEL", "cdp.Customer"))


def _resolves_to_subject(model: type[models.Model], path: str) -> bool:
    """True when `path` walks the model's relations to the subject model (or is "pk" on the subject model)."""
    target = subject_model()
    if path == "pk":
        return model is target
    current = model
    for part in path.split("__"):
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if not field.is_relation:
            return False
        current = field.related_model
    return current is target


class Registry:
    def __init__(self) -> None:
        self._entries: dict[type[models.Model], PersonalData] = {}

    def register(
        self,
        model: type[models.Model],
        *,
        subject: str | Iterable[str],
        erasure: str,
        anonymise: Iterable[str] = (),
        reason: str = "",
    ) -> PersonalData:
        paths = (subject,) if isinstance(subject, str) else tuple(subject)
        label = model._meta.label
        if model in self._entries:
            raise ImproperlyConfigured(f"{label} is registered twice in the personal-data registry")
        if erasure not in Erasure.values:
            raise ImproperlyConfigured(f"{label}: erasure must be one of {', '.join(Erasure.values)}")
        bad = [path for path in paths if not _resolves_to_subject(model, path)]
        if not paths or bad:
            raise ImproperlyConfigured(f"{label}: {bad or 'no path'} does not lead to {subject_model()._meta.label}")
        anonymise = tuple(anonymise)
        missing = [name for name in anonymise if name not in {f.name for f in model._meta.get_fields()}]
        if missing or (erasure == Erasure.ANONYMISE and not anonymise):
            raise ImproperlyConfigured(f"{label}: anonymise names the fields to clear ({missing or 'none given'})")
        if erasure != Erasure.DELETE and not reason.strip():
            raise ImproperlyConfigured(f"{label}: keeping data after erasure needs its legal reason")
        entry = PersonalData(model, paths, erasure, anonymise, reason.strip())
        self._entries[model] = entry
        return entry

    def entries(self) -> list[PersonalData]:
        return sorted(self._entries.values(), key=lambda entry: entry.model._meta.label)

    def get(self, model: type[models.Model]) -> PersonalData | None:
        return self._entries.get(model)

    def covers(self, model: type[models.Model]) -> bool:
        """Registered itself, or the history table of a registered model."""
        base = getattr(model, "instance_type", None)  # simple-history's historical models point at their base
        return model in self._entries or (base is not None and base in self._entries)


registry = Registry()
register_personal_data = registry.register


def _relations_to_subject(model: type[models.Model], depth: int) -> bool:
    target = subject_model()
    if model is target:
        return True
    if depth == 0:
        return False
    forward = [f.related_model for f in model._meta.concrete_fields if f.is_relation and f.related_model is not None]
    return any(related is target or _relations_to_subject(related, depth - 1) for related in forward)


def models_holding_subject_data(depth: int = 2) -> list[type[models.Model]]:
    """Every installed model that points at the subject within `depth` relations, and their history tables."""
    found = []
    for model in apps.get_models():
        base = getattr(model, "instance_type", None)
        if _relations_to_subject(base or model, depth):
            found.append(model)
    return found
