"""The core profile app."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CdpConfig(AppConfig):
    name = "cdp"
    verbose_name = "Customer profiles"

    def ready(self) -> None:
        from cdp.demo.steps import register as register_demo_steps
        from cdp.identity.demo import register as register_identity_step
        from cdp.personal_data import register as register_personal_data
        from cdp.profile.setup import register as register_profile
        from cdp.retention import register as register_retention
        from cdp.roles import roles_sync_after_migrate

        register_demo_steps()
        register_identity_step()
        register_profile()
        register_personal_data()
        register_retention()
        # Later apps add models (and so permissions) in their own migrations: keep the role groups in step.
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="cdp.roles.sync")
