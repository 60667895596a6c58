"""Writes of the consent app, one module per sub-domain: import from the module itself (consent.services.policies)."""
