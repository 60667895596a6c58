"""The step machine of a data-subject request: which step applies to which kind of request, and in which state.

The admin offers a button per step ``dsr_steps_available`` returns, the API refuses a step ``dsr_step_require`` does
not allow, and the services that carry each step out check the same again (a verified identity, the request's own
customer). A step applies when:

- the request is open (a closed request takes no step);
- its kind is one the step is for (an export for access and portability, erasure for erasure, ...);
- the identity is verified and a customer linked, for every step that discloses, erases or changes data, and for
  completing the request;
- the state allows it: a customer is linked once, and never after the erasure (which unlinks it); the identity is
  verified once; the deadline is extended within the first month only, up to two months; erasure happens once;
  processing is restricted when it is not, and lifted when it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.models import (
    DataSubjectRequest,
    ProcessingRestriction,
    RequestAction,
    RequestKind,
)
from consent.services.requests import MAX_EXTENSION_MONTHS, NO_CUSTOMER, NOT_OPEN, NOT_VERIFIED, add_months

LINK = "link"
VERIFY = "verify"
EXTEND = "extend"
EXPORT = "export"
ERASE = "erase"
RESTRICT = "restrict"
LIFT = "lift"
OBJECT = "object"
RECTIFIED = "rectified"
COMPLETE = "complete"
REJECT = "reject"

STEP_NOT_AVAILABLE = "this step does not apply to the request in its current state"
WRONG_KIND = "this step is for {kinds} requests"

EXPORT_KINDS = (RequestKind.ACCESS, RequestKind.PORTABILITY)


@dataclass(frozen=True)
class StepRule:
    name: str
    kinds: tuple[str, ...] = ()  # empty: every kind
    needs_verified: bool = False  # the identity verified and a customer linked


RULES = (
    StepRule(LINK),
    StepRule(VERIFY),
    StepRule(EXTEND),
    StepRule(EXPORT, EXPORT_KINDS, needs_verified=True),
    StepRule(ERASE, (RequestKind.ERASURE,), needs_verified=True),
    StepRule(RESTRICT, (RequestKind.RESTRICTION,), needs_verified=True),
    StepRule(LIFT, (RequestKind.RESTRICTION,), needs_verified=True),
    StepRule(OBJECT, (RequestKind.OBJECTION,), needs_verified=True),
    StepRule(RECTIFIED, (RequestKind.RECTIFICATION,), needs_verified=True),
    StepRule(COMPLETE),
    StepRule(REJECT),
)
RULE_OF = {rule.name: rule for rule in RULES}


@dataclass(frozen=True)
class RequestState:
    """What the steps depend on, read once (two queries at most)."""

    open: bool
    kind: str
    verified: bool
    customer_linked: bool
    erased: bool
    restricted: bool
    can_extend: bool


def dsr_state(request: DataSubjectRequest) -> RequestState:
    erased = request.events.filter(action=RequestAction.ERASED).exists() if request.is_open else False
    restricted = (
        request.customer_id is not None
        and request.kind == RequestKind.RESTRICTION
        and ProcessingRestriction.objects.filter(customer_id=request.customer_id, lifted_at__isnull=True).exists()
    )
    latest_due = add_months(request.received_at, 1 + MAX_EXTENSION_MONTHS)
    return RequestState(
        open=request.is_open,
        kind=request.kind,
        verified=request.identity_verified_at is not None,
        customer_linked=request.customer_id is not None,
        erased=erased,
        restricted=restricted,
        can_extend=timezone.now() <= request.original_due_at and request.due_at < latest_due,
    )


def _state_allows(name: str, state: RequestState) -> bool:
    return {
        LINK: not state.customer_linked and not state.erased,
        VERIFY: not state.verified,
        EXTEND: state.can_extend,
        ERASE: not state.erased,
        RESTRICT: not state.restricted,
        LIFT: state.restricted,
        COMPLETE: state.verified,
    }.get(name, True)


def _applies(rule: StepRule, state: RequestState) -> bool:
    if not state.open or (rule.kinds and state.kind not in rule.kinds):
        return False
    if rule.needs_verified and not (state.verified and state.customer_linked):
        return False
    return _state_allows(rule.name, state)


def dsr_steps_available(request: DataSubjectRequest) -> list[str]:
    """The names of the steps that apply to the request now, in workflow order."""
    state = dsr_state(request)
    return [rule.name for rule in RULES if _applies(rule, state)]


def dsr_step_require(request: DataSubjectRequest, name: str) -> None:
    """Raise ValidationError, saying why, unless the step `name` applies to the request now."""
    rule = RULE_OF.get(name)
    if rule is None:
        raise ValidationError(STEP_NOT_AVAILABLE)
    state = dsr_state(request)
    if _applies(rule, state):
        return
    if not state.open:
        raise ValidationError(NOT_OPEN)
    if rule.kinds and state.kind not in rule.kinds:
        raise ValidationError(
            WRONG_KIND.format(kinds=" and ".join(str(RequestKind(kind).label) for kind in rule.kinds))
        )
    if (rule.needs_verified or name == COMPLETE) and not state.verified:
        raise ValidationError(NOT_VERIFIED)
    if rule.needs_verified and not state.customer_linked:
        raise ValidationError(NO_CUSTOMER)
    raise ValidationError(STEP_NOT_AVAILABLE)
