"""The personal-data registry: every model that holds a subject's data, how to find its rows, and what erasure does.

Apps register their models in AppConfig.ready() (consent imports none of them: the subject model is named by the
setting PERSONAL_DATA_SUBJECT_MODEL, "cdp.Customer"). The registry checks what it gets at the door: the path to the
subject must resolve through the model's relations, and keeping or anonymising data needs its legal reason.
Historical tables (django-simple-history) of a registered model are covered with it.

Each entry also says what an export holds (``export``: the fields written to the portability archive, every concrete
field unless narrowed; a path through a relation, ``product__sku``, puts what an id means beside it, written
``product_sku``), how its rows read for a person (``present``: the app's own conversion of a page of rows, e.g. money
in minor units to decimals with the currency), whether its rows belong inside another table's in ``subject.json``
(``nest``: the foreign key to the parent and the key the rows go under, a receipt's lines), where rows wait unlinked
under a source's external id (``unlinked``: pairs of the path to the source key and the external id field), which
plain fields hold a subject's id (``subject_ids``: e.g. the audit of a merge names the merged customer by id), which
fields hold paths of files under MEDIA_ROOT (``files``) and which a cookie or device id seen with the subject
(``anonymous``).
The subject's app tells the registry how to read a subject's identifiers (``register_subject_keys``): erasure puts
them on the suppression list, and finds the unlinked rows by them. Scrubbers (``register_scrubber``) redact the
identifiers that data with no link to the subject may quote (the reasons of rejected import rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

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
class SubjectKeys:
    """A subject's identifiers as its app normalises them: what erasure suppresses and searches unlinked rows by."""

    external_ids: frozenset[tuple[str, str]] = frozenset()  # (source key, external id)
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    anonymous_ids: frozenset[str] = frozenset()  # cookie or device ids seen with the subject (Recital 30)
    # The subject as a person, in the app's own folded form (e.g. given name, family name, birth date), and the
    # e-mails and phones others share with it (a household's address or landline): a shared value is refused only
    # together with the person, so the other member of the household can still be imported.
    persons: frozenset[str] = frozenset()
    shared: frozenset[str] = frozenset()

    def values(self) -> set[str]:
        """Every identifying value, as text: what a free-text field must not keep."""
        return {e for _, e in self.external_ids} | set(self.emails) | set(self.phones) | set(self.anonymous_ids)


@dataclass(frozen=True)
class PersonalData:
    model: type[models.Model]
    subject_paths: tuple[str, ...]  # ORM paths from the model to the subject's primary key ("pk" for the subject)
    erasure: str
    anonymise: tuple[str, ...] = ()
    reason: str = ""
    export: tuple[str, ...] = ()  # fields written to the portability archive
    unlinked: tuple[tuple[str, str], ...] = ()  # (path to the source key, external id field) of rows not linked yet
    subject_ids: tuple[str, ...] = ()  # plain fields that hold a subject's primary key
    files: tuple[str, ...] = ()  # fields holding paths of files under MEDIA_ROOT
    anonymous: tuple[str, ...] = ()  # fields holding a cookie or device id: rows seen with the subject's devices
    present: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None  # rows as a person reads them
    nest: tuple[str, str] | None = None  # (foreign key to the parent table, key of the rows in the parent's rows)

    def condition(self, subject_ids: Iterable[Any], keys: SubjectKeys | None = None) -> Q:
        ids = list(subject_ids)
        condition = Q()
        for path in self.subject_paths:
            condition |= Q(**{f"{path}__in": ids})
        for name in self.subject_ids:
            condition |= Q(**{f"{name}__in": ids})
        if keys is not None:
            for name in self.anonymous:
                if keys.anonymous_ids:
                    condition |= Q(**{f"{name}__in": sorted(keys.anonymous_ids)})
            for source_path, id_field in self.unlinked:
                for source_key, external_id in sorted(keys.external_ids):
                    condition |= Q(**{source_path: source_key, id_field: external_id})
        return condition

    def rows_of(self, subject_id, keys: SubjectKeys | None = None) -> models.QuerySet:
        """The rows of this model that belong to the subject (and, given its keys, its rows not linked yet)."""
        return self.rows_of_all([subject_id], keys)

    def rows_of_all(self, subject_ids: Iterable[Any], keys: SubjectKeys | None = None) -> models.QuerySet:
        """The rows of several subject ids: a customer and the customers merged into it are one person."""
        return self.model._default_manager.filter(self.condition(subject_ids, keys))


def subject_model() -> type[models.Model]:
    return apps.get_model(settings.PERSONAL_DATA_SUBJECT_MODEL)


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


def _field_names(model: type[models.Model]) -> set[str]:
    return {f.name for f in model._meta.get_fields()}


def _check_fields(label: str, model: type[models.Model], what: str, names: Iterable[str]) -> None:
    missing = [name for name in names if name not in _field_names(model)]
    if missing:
        raise ImproperlyConfigured(f"{label}: {what} names unknown fields {missing}")


class Registry:
    def __init__(self) -> None:
        self._entries: dict[type[models.Model], PersonalData] = {}
        self._subject_keys: Callable[[list[Any]], SubjectKeys] | None = None
        self._scrubbers: dict[str, Callable[[list[Any], SubjectKeys], int]] = {}

    def register_scrubber(self, label: str, scrub: Callable[[list[Any], SubjectKeys], int]) -> None:
        """Data with no link to the subject that may still quote their identifiers (e.g. the reasons of rejected
        import rows): `scrub(subject_ids, keys)` redacts them at erasure, before the subject's rows go, and returns
        the rows it changed."""
        self._scrubbers[label] = scrub

    def scrubbers(self) -> list[tuple[str, Callable[[list[Any], SubjectKeys], int]]]:
        return sorted(self._scrubbers.items())

    def register_subject_keys(self, reader: Callable[[list[Any]], SubjectKeys]) -> None:
        """The subject's app names how to read the identifiers of subjects (by their primary keys)."""
        self._subject_keys = reader

    def subject_keys(self, subject_ids: Iterable[Any]) -> SubjectKeys:
        if self._subject_keys is None:
            return SubjectKeys()
        return self._subject_keys(list(subject_ids))

    def register(
        self,
        model: type[models.Model],
        *,
        subject: str | Iterable[str],
        erasure: str,
        anonymise: Iterable[str] = (),
        reason: str = "",
        export: Iterable[str] | None = None,
        unlinked: Iterable[tuple[str, str]] = (),
        subject_ids: Iterable[str] = (),
        files: Iterable[str] = (),
        anonymous: Iterable[str] = (),
        present: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
        nest: tuple[str, str] | None = None,
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
        concrete = tuple(f.name for f in model._meta.concrete_fields)
        export = concrete if export is None else tuple(export)
        unlinked, subject_ids, files, anonymous = tuple(unlinked), tuple(subject_ids), tuple(files), tuple(anonymous)
        _check_fields(label, model, "export", (name.split("__")[0] for name in export))
        if nest is not None and (nest[0] not in export or not model._meta.get_field(nest[0]).is_relation):
            raise ImproperlyConfigured(f"{label}: nest names {nest[0]!r}, which must be an exported foreign key")
        _check_fields(label, model, "unlinked", (id_field for _, id_field in unlinked))
        _check_fields(label, model, "subject_ids", subject_ids)
        _check_fields(label, model, "files", files)
        _check_fields(label, model, "anonymous", anonymous)
        if not export:
            raise ImproperlyConfigured(f"{label}: the export names no field")
        entry = PersonalData(
            model,
            paths,
            erasure,
            anonymise,
            reason.strip(),
            export,
            unlinked,
            subject_ids,
            files,
            anonymous,
            present,
            nest,
        )
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
register_subject_keys = registry.register_subject_keys
register_scrubber = registry.register_scrubber


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
