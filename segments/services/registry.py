"""The model registry: a version's number, its artefact written with a checksum and read back only when it matches,
one active version per kind.

Artefacts are joblib files the product wrote itself into the database; a changed byte makes the checksum differ and
nothing is unpickled (joblib executes code on load, so only our own, verified bytes are ever loaded).
"""

from __future__ import annotations

import hashlib
import io
import platform
from importlib import metadata

import joblib

from django.db import transaction
from django.db.models import Max

from segments.models import ModelVersion

CHECKSUM_MISMATCH = "the stored model does not match its checksum: it will not be loaded"
NO_ARTEFACT = "this model version has no stored model"
NOT_SUCCEEDED = "only a model version that succeeded can be made active"


LIBRARIES = ("scikit-learn", "scipy", "numpy", "joblib", "lifelines", "duckdb")


def library_versions() -> dict[str, str]:
    """The versions of the libraries a model was fitted with (those installed: lifelines only serves survival)."""
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def next_number(kind: str) -> int:
    return (ModelVersion.objects.filter(kind=kind).aggregate(n=Max("number"))["n"] or 0) + 1


def model_version_create(*, kind: str, as_of, horizon_days: int, seed: int = 42, actor=None) -> ModelVersion:
    """A running version of `kind`, numbered after the kind's last one (the unique constraint settles a race)."""
    if kind not in ModelVersion.Kind.values:
        raise ValueError(f"unknown model kind {kind!r}")
    return ModelVersion.objects.create(
        kind=kind,
        number=next_number(kind),
        as_of=as_of,
        horizon_days=horizon_days,
        seed=seed,
        actor=actor,
        library_versions=library_versions(),
    )


def artefact_dump(model: object) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    blob = buffer.getvalue()
    return blob, hashlib.sha256(blob).hexdigest()


def artefact_load(version: ModelVersion) -> object:
    """The version's fitted model, after its checksum was verified."""
    if version.artefact is None:
        raise ValueError(NO_ARTEFACT)
    blob = bytes(version.artefact)
    if hashlib.sha256(blob).hexdigest() != version.artefact_sha256:
        raise ValueError(CHECKSUM_MISMATCH)
    return joblib.load(io.BytesIO(blob))  # our own bytes, checked above


@transaction.atomic
def model_version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make `version` the active one of its kind (the previous active one stops being so)."""
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != ModelVersion.Status.SUCCEEDED:
        raise ValueError(NOT_SUCCEEDED)
    ModelVersion.objects.filter(kind=version.kind, is_active=True).exclude(pk=version.pk).update(is_active=False)
    version.is_active = True
    version.save(update_fields=["is_active"])
    return version
