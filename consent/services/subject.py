"""What the registry holds about one subject: its ids, its keys, and each registered model's rows and history rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from simple_history.exceptions import NotHistoricalModelError
from simple_history.utils import get_history_model_for_model

from django.db import models
from django.db.models import Q

from consent.registry import PersonalData, SubjectKeys, registry, subject_model


@dataclass(frozen=True)
class Subject:
    """A customer and the customers merged into it (the same person), with their identifiers."""

    ids: tuple[Any, ...]
    keys: SubjectKeys

    def rows(self, entry: PersonalData) -> models.QuerySet:
        return entry.rows_of_all(self.ids, self.keys)


def subject_resolve(customer) -> Subject:
    """The subject of `customer`: itself, every customer merged into it (transitively), and their identifiers."""
    model = subject_model()
    ids = [customer.pk]
    frontier = [customer.pk] if _has_field(model, "merged_into") else []
    while frontier:
        merged = model._default_manager.filter(merged_into__in=frontier).values_list("pk", flat=True)
        frontier = [pk for pk in merged if pk not in ids]
        ids.extend(frontier)
    return Subject(ids=tuple(ids), keys=registry.subject_keys(ids))


MAX_MERGE_DEPTH = 50  # a chain of merges longer than this is a cycle in the data: it stops there


def subject_survivor(customer):
    """The customer record in use for `customer`: itself, or the customer it was merged into (transitively)."""
    model = subject_model()
    seen = set()
    while getattr(customer, "merged_into_id", None) and customer.pk not in seen and len(seen) < MAX_MERGE_DEPTH:
        seen.add(customer.pk)
        customer = model._default_manager.get(pk=customer.merged_into_id)
    return customer


def subject_survivors(customer_ids: Iterable[Any]) -> dict[Any, Any]:
    """customer id -> the id of the record in use for it (itself, or its survivor), in one query when none merged."""
    model = subject_model()
    current = {pk: pk for pk in dict.fromkeys(customer_ids)}
    if not current or not _has_field(model, "merged_into"):
        return current
    for _ in range(MAX_MERGE_DEPTH):
        targets = dict(
            model._default_manager.filter(pk__in=set(current.values()), merged_into__isnull=False).values_list(
                "pk", "merged_into"
            )
        )
        if not targets:
            break
        current = {given: targets.get(now, now) for given, now in current.items()}
    return current


def _has_field(model: type[models.Model], name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())


def history_model(model: type[models.Model]) -> type[models.Model] | None:
    try:
        return get_history_model_for_model(model)
    except NotHistoricalModelError:
        return None


def history_condition(entry: PersonalData, subject: Subject, pks: list[Any]) -> Q:
    """Historical rows of the subject's rows, and of any row that once pointed at the subject directly."""
    condition = Q(id__in=pks)
    for path in entry.subject_paths:
        if path == "pk":
            condition |= Q(id__in=subject.ids)
        elif "__" not in path:
            condition |= Q(**{f"{path}_id__in": subject.ids})
    return condition


def history_rows(entry: PersonalData, subject: Subject, pks: list[Any]) -> models.QuerySet | None:
    historical = history_model(entry.model)
    if historical is None:
        return None
    return historical._default_manager.filter(history_condition(entry, subject, pks))


def registered_rows(subject: Subject) -> Iterator[tuple[PersonalData, models.QuerySet]]:
    for entry in registry.entries():
        yield entry, subject.rows(entry)
