"""Consent and GDPR app: other apps register their personal data with it; it imports none of them."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent and GDPR"

    def ready(self) -> None:
        from consent import models as m
        from consent.registry import Erasure, register_personal_data
        from consent.seeds import seed_reference_data

        # After a flush the migrations' reference data is gone: seed it again (only into empty tables).
        post_migrate.connect(seed_reference_data, sender=self, dispatch_uid="consent.seeds")

        # The proof of consent goes with the subject; the erasure receipt records that it existed.
        register_personal_data(
            m.ConsentEvent,
            subject="customer",
            erasure=Erasure.DELETE,
            unlinked=(("source_key", "subject_external_id"),),
            # What each choice was about, in words beside the ids: the purpose's and the channel's names.
            export=(
                "id",
                "source_key",
                "subject_external_id",
                "customer",
                "purpose",
                "purpose__key",
                "purpose__name",
                "channel",
                "channel__key",
                "channel__name",
                "status",
                "occurred_at",
                "captured_via",
                "policy_version",
                "evidence",
                "recorded_at",
            ),
        )
        register_personal_data(
            m.DataSubjectRequest,
            subject="customer",
            erasure=Erasure.ANONYMISE,
            anonymise=("customer", "subject_reference", "details", "identity_verification", "outcome"),
            reason=ACCOUNTABILITY,
        )
        register_personal_data(
            m.DataSubjectRequestEvent, subject="request__customer", erasure=Erasure.KEEP, reason=ACCOUNTABILITY
        )
        register_personal_data(
            m.SubjectExport,
            subject="customer",
            erasure=Erasure.ANONYMISE,
            anonymise=("customer", "file", "sha256"),
            reason=ACCOUNTABILITY + "; the archive itself is deleted",
            files=("file",),
            export=("id", "request", "created_at", "expires_at", "downloaded_at"),
        )
        register_personal_data(m.ProcessingRestriction, subject="customer", erasure=Erasure.DELETE)
        register_personal_data(
            m.ErasureReceipt,
            subject="request__customer",
            erasure=Erasure.KEEP,
            reason="the proof of an erasure (Art. 5(2), 17); it holds counts and keyed hashes, no personal data",
        )
        # A preference link stands for its customer: erasing the key makes every link already sent useless.
        register_personal_data(m.PreferenceKey, subject="customer", erasure=Erasure.DELETE)


# Art. 5(2) and 30: the controller proves how requests were handled; the trail keeps dates and steps, not the person.
ACCOUNTABILITY = (
    "the handling of the request is proof of compliance (GDPR Art. 5(2), Art. 12); kept anonymised and unlinked"
)
