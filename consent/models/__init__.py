"""The consent app's models, one module per aggregate; every model is re-exported here."""

from consent.models.ledger import Channel, ConsentEvent, ConsentStatus, LegalBasis, PolicyVersion, Purpose

__all__ = ["Channel", "ConsentEvent", "ConsentStatus", "LegalBasis", "PolicyVersion", "Purpose"]
