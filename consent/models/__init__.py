"""The consent app's models, one module per aggregate; every model is re-exported here."""

from consent.models.ledger import Channel, ConsentEvent, ConsentStatus, LegalBasis, PolicyVersion, Purpose
from consent.models.preferences import LinkDelivery, PreferenceKey
from consent.models.register import Controller, DpiaStatus, ProcessingActivity, ProcessingRun, RunStatus
from consent.models.requests import (
    DataSubjectRequest,
    DataSubjectRequestEvent,
    ErasureReceipt,
    ProcessingRestriction,
    RequestAction,
    RequestChannel,
    RequestKind,
    RequestStatus,
    SubjectExport,
    SuppressedIdentifier,
)

__all__ = [
    "Channel",
    "ConsentEvent",
    "ConsentStatus",
    "Controller",
    "DataSubjectRequest",
    "DataSubjectRequestEvent",
    "DpiaStatus",
    "ErasureReceipt",
    "LegalBasis",
    "PolicyVersion",
    "LinkDelivery",
    "PreferenceKey",
    "ProcessingActivity",
    "ProcessingRestriction",
    "ProcessingRun",
    "Purpose",
    "RequestAction",
    "RequestChannel",
    "RequestKind",
    "RequestStatus",
    "RunStatus",
    "SubjectExport",
    "SuppressedIdentifier",
]
