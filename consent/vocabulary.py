"""Words people read for the consent app's keys: the seeded purposes and channels (their names and the wording the
preference page shows), the ledger's own sources and the ways a consent is captured.

Names and wordings are stored in the database (the DPO may edit them or add more); the seeded ones are marked here
for translation, so a page shows them in the reader's language while they are as seeded, and as edited otherwise.
"""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop, pgettext_lazy

SEEDED_TEXTS = (
    # purposes (consent/migrations/0002): names
    gettext_noop("E-mail marketing"),
    gettext_noop("SMS marketing"),
    gettext_noop("Phone marketing"),
    gettext_noop("Postal marketing"),
    gettext_noop("Contact by a sales representative"),
    gettext_noop("Profiling"),
    gettext_noop("Personalisation"),
    gettext_noop("Audience analytics"),
    # channels
    gettext_noop("E-mail"),
    gettext_noop("SMS"),
    gettext_noop("Phone"),
    gettext_noop("Post"),
    gettext_noop("Web"),
    gettext_noop("Store"),
    gettext_noop("Mobile app"),
    # what the preference page says of each purpose (consent/migrations/0005)
    gettext_noop("Our newsletters and offers by e-mail."),
    gettext_noop("Offers by text message."),
    gettext_noop("Calls from us with offers."),
    gettext_noop("Catalogues and offers by post."),
    gettext_noop("A sales adviser contacts you with a proposal made for you."),
    gettext_noop("We use your purchases to understand what you like and which offers suit you."),
    gettext_noop("Product suggestions and content chosen for you on our website, in our app and in our e-mails."),
    gettext_noop("Anonymous statistics on how our website and app are used, to improve them. You may refuse."),
)

# The ledger's sources that are the product itself, and the usual ways a consent is captured.
SOURCE_LABELS = {
    "preference_page": pgettext_lazy("consent source", "The customer's preference page"),
    "staff": pgettext_lazy("consent source", "Staff"),
    "dsr": pgettext_lazy("consent source", "Data-subject request"),
}
CAPTURED_VIA_LABELS = {
    "web": pgettext_lazy("captured via", "web"),
    "app": pgettext_lazy("captured via", "app"),
    "store": pgettext_lazy("captured via", "store"),
    "email": pgettext_lazy("captured via", "e-mail"),
    "sms": pgettext_lazy("captured via", "SMS"),
    "phone": pgettext_lazy("captured via", "phone"),
    "call_centre": pgettext_lazy("captured via", "call centre"),
    "post": pgettext_lazy("captured via", "post"),
    "dpo": pgettext_lazy("captured via", "the DPO"),
    "admin": pgettext_lazy("captured via", "admin"),
    "api": pgettext_lazy("captured via", "API"),
    "preference_page": pgettext_lazy("captured via", "preference page"),
}


def stored_text(text: str) -> str:
    """A name or wording stored in the database, in the reader's language when it is one the product seeded."""
    return gettext(text) if text else ""


def source_label(key: str) -> str:
    return str(SOURCE_LABELS[key]) if key in SOURCE_LABELS else key


def captured_via_label(key: str) -> str:
    return str(CAPTURED_VIA_LABELS[key]) if key in CAPTURED_VIA_LABELS else key.replace("_", " ")
