"""The four roles (Django groups) and the permissions each needs: README.md's "Roles" table says the same, and a test
checks that both agree.

A data migration creates the groups; after every ``migrate`` the permissions are brought in step, because later apps
add models (and so permissions) in their own migrations. A permission is named ``app_label.action_model``; a ``*``
stands for every model of the app, and a leading ``!`` takes the permissions it names away again.
"""

from __future__ import annotations

from collections.abc import Iterable

ROLE_CRM = "crm"
ROLE_MARKETING = "marketing"
ROLE_SALES = "sales"
ROLE_DPO = "dpo"
ROLES = (ROLE_CRM, ROLE_MARKETING, ROLE_SALES, ROLE_DPO)

DPO_ONLY = (
    "!consent.view_datasubjectrequest",
    "!consent.view_datasubjectrequestevent",
    "!consent.view_subjectexport",
    "!consent.view_erasurereceipt",
    "!consent.view_suppressedidentifier",
    "!consent.view_processingrestriction",
)

# Role → permission patterns (app_label.action_model, with * for all models of the app; ! to leave some out).
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    # CRM staff read 360° profiles and correct a customer's details.
    ROLE_CRM: (
        "cdp.view_*",
        "cdp.change_customer",
        "cdp.change_sourcerecord",
        "cdp.change_mergereview",  # decides the identity review queue
        "consent.view_*",
        "consent.add_consentevent",  # a grant or a withdrawal taken on the phone or in store, with its proof
        "consent.add_preferencekey",  # e-mails the customer their preference link, or prints it in a letter
        # Data-subject requests, their exports, erasure receipts and restrictions are the DPO's alone: a request
        # says who asked what, and how their identity was checked.
        *DPO_ONLY,
        "segments.view_*",
        "campaigns.view_*",
    ),
    # Marketing analysts import data, run segmentation and scoring, define rules and campaigns.
    ROLE_MARKETING: (
        "cdp.view_*",
        "cdp.add_source",
        "cdp.change_source",
        "cdp.add_store",
        "cdp.change_store",
        "cdp.add_category",
        "cdp.change_category",
        "cdp.add_product",
        "cdp.change_product",
        # Customers, receipt lines and events; never consents (consent.import_consentevent), which speak for the
        # customers themselves.
        "cdp.import_customers",
        "cdp.import_transactions",
        "cdp.import_events",
        "consent.view_purpose",
        "consent.view_channel",
        "segments.*",
        "campaigns.*",
    ),
    # Sales reps download the briefs of campaigns (ranked leads, with contact details only for consented channels);
    # they read no profile, history or consent ledger (GDPR Art. 5(1)(c): what their task needs, no more).
    # They read their own briefs (campaigns.view_brief; the pages show a rep only the briefs made for them), never a
    # campaign's audience, control group or contact records.
    ROLE_SALES: ("campaigns.view_brief",),
    # The DPO handles data-subject requests, the processing register and erasure, and keeps the consent ledger (its
    # imports included: consent.import_consentevent).
    ROLE_DPO: (
        "cdp.view_*",
        "cdp.change_customer",
        "cdp.delete_customer",
        "cdp.change_mergereview",  # decides the identity review queue
        "consent.*",
        "segments.view_*",
        "campaigns.view_*",
        "auth.view_user",
    ),
}


def _matches(pattern: str, app_label: str, codename: str) -> bool:
    pattern_app, _, pattern_code = pattern.partition(".")
    if pattern_app != app_label:
        return False
    if pattern_code == "*":
        return True
    if pattern_code.endswith("_*"):
        return codename.startswith(pattern_code[:-1])
    return codename == pattern_code


def permission_ids_for(patterns: Iterable[str], permissions: Iterable[tuple[int, str, str]]) -> set[int]:
    """Ids of the permissions ``(id, app_label, codename)`` that one of the patterns names and no ``!`` pattern."""
    patterns = tuple(patterns)
    granted = [pattern for pattern in patterns if not pattern.startswith("!")]
    refused = [pattern[1:] for pattern in patterns if pattern.startswith("!")]
    return {
        perm_id
        for perm_id, app_label, codename in permissions
        if any(_matches(pattern, app_label, codename) for pattern in granted)
        and not any(_matches(pattern, app_label, codename) for pattern in refused)
    }


def roles_sync(group_model, permission_model) -> None:
    """Create the role groups and set exactly the permissions of ROLE_PERMISSIONS (idempotent)."""
    available = list(permission_model.objects.values_list("id", "content_type__app_label", "codename"))
    for role, patterns in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = permission_ids_for(patterns, available)
        current = set(group.permissions.values_list("id", flat=True))
        if wanted != current:
            group.permissions.set(wanted)


def roles_sync_after_migrate(sender, **kwargs) -> None:
    """post_migrate is sent once per app that has models; the last one comes after every app's permissions exist."""
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    with_models = [config.label for config in apps.get_app_configs() if config.models_module is not None]
    if sender.label != with_models[-1]:
        return
    roles_sync(Group, Permission)
