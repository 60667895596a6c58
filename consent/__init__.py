"""Consent and GDPR: purposes, the consent ledger, the processing register, data-subject requests, erasure."""
