"""Seed the purposes and channels of the import_consents contract (DESIGN.md); the admin can add more."""

from django.db import migrations

# Three years after the last contact: the CNIL's recommendation for prospects' and customers' marketing data.
THREE_YEARS = 3 * 365
# Thirteen months: the CNIL's limit for audience-measurement trackers (its exemption for analytics cookies).
THIRTEEN_MONTHS = 395

# key, name, legal basis, retention in days, description
PURPOSES = (
    (
        "email_marketing",
        "E-mail marketing",
        "consent",
        THREE_YEARS,
        "Newsletters and offers by e-mail. Opt-in required for consumers (French CPCE L34-5).",
    ),
    (
        "sms_marketing",
        "SMS marketing",
        "consent",
        THREE_YEARS,
        "Offers by SMS or other text messages. Opt-in required for consumers (French CPCE L34-5).",
    ),
    (
        "phone_marketing",
        "Phone marketing",
        "consent",
        THREE_YEARS,
        "Offers by phone call. French law allows opt-out with Bloctel; this product asks for consent first.",
    ),
    (
        "postal_marketing",
        "Postal marketing",
        "consent",
        THREE_YEARS,
        "Catalogues and offers by post. Legitimate interest would be lawful; this product asks for consent first.",
    ),
    (
        "sales_contact",
        "Contact by a sales representative",
        "consent",
        THREE_YEARS,
        "A sales representative contacts the customer with a personal proposal (the sales briefs).",
    ),
    (
        "profiling",
        "Profiling",
        "consent",
        THREE_YEARS,
        "Behavioural segments and predictive scores (churn, propensity, lifetime value) built from purchases.",
    ),
    (
        "personalisation",
        "Personalisation",
        "consent",
        THREE_YEARS,
        "Product recommendations and content tailored to the customer on the web, in the app and in e-mails.",
    ),
    (
        "analytics",
        "Audience analytics",
        "legitimate_interest",
        THIRTEEN_MONTHS,
        "Aggregated measurement of site and app use. The customer may object at any time (GDPR Art. 21).",
    ),
)

CHANNELS = (
    ("email", "E-mail"),
    ("sms", "SMS"),
    ("phone", "Phone"),
    ("post", "Post"),
    ("web", "Web"),
    ("store", "Store"),
    ("app", "Mobile app"),
)


def seed(apps, schema_editor):
    Purpose = apps.get_model("consent", "Purpose")
    Channel = apps.get_model("consent", "Channel")
    for key, name, legal_basis, retention_days, description in PURPOSES:
        Purpose.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "legal_basis": legal_basis,
                "retention_days": retention_days,
                "description": description,
            },
        )
    for key, name in CHANNELS:
        Channel.objects.get_or_create(key=key, defaults={"name": name})


def unseed(apps, schema_editor):
    # Purposes referenced by ledger events are protected: unapplying fails rather than lose the ledger.
    apps.get_model("consent", "Purpose").objects.filter(key__in=[p[0] for p in PURPOSES]).delete()
    apps.get_model("consent", "Channel").objects.filter(key__in=[c[0] for c in CHANNELS]).delete()


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
