"""Creating, editing and launching campaigns: the launch freezes the audience and draws the control group.

The draw (control_draw) is a pure function of the candidates, their strata and the stored seed: the same audience
and seed give the same control group and the same arms, so a launch can be replayed and checked.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import AudienceMember, Campaign, CampaignArm, ContactRecord, DecisionRule
from campaigns.services.audience import Audience, AudienceError, audience_build, campaign_start, target_validate
from consent.models import Channel, Purpose
from consent.services.register import ACTIVITY_MARKETING_CAMPAIGNS, processing_run_record

NOT_DRAFT = "the campaign has been launched already"
EMPTY_AUDIENCE = "nobody is left in the audience: nothing to launch"
UNKNOWN_PURPOSE = "unknown purpose"
UNKNOWN_CHANNEL = "unknown channel"
BAD_SHARE = "the control share is between 0 and 0.9"
BAD_WINDOW = "the campaign ends before it starts"
BAD_ARMS = "arms' shares are each above 0 and add up to 1"
BATCH = 5000
CONTROL = AudienceMember.Group.CONTROL
TREATMENT = AudienceMember.Group.TREATMENT


@dataclass(frozen=True)
class LaunchResult:
    campaign: Campaign
    matched: int
    treatment: int
    control: int
    excluded: dict[str, int]
    seconds: float


def _purpose(key: str) -> Purpose:
    found = Purpose.objects.filter(key=key, is_active=True).first()
    if found is None:
        known = ", ".join(Purpose.objects.filter(is_active=True).values_list("key", flat=True))
        raise AudienceError(f"{UNKNOWN_PURPOSE} {key!r} (known: {known})")
    return found


def _channel(key: str) -> Channel:
    found = Channel.objects.filter(key=key).first()
    if found is None:
        raise AudienceError(
            f"{UNKNOWN_CHANNEL} {key!r} (known: {', '.join(Channel.objects.values_list('key', flat=True))})"
        )
    return found


@transaction.atomic
def campaign_create(
    *,
    name: str,
    purpose: str,
    channel: str,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    objective: str = "",
    target: dict | None = None,
    control_share: float = 0.1,
    seed: int = 42,
    default_offer: str = "",
    arms: Sequence[tuple[str, str, float]] = (),
    owner=None,
) -> Campaign:
    """A draft campaign. Raises AudienceError for an unknown purpose, channel, segment or filter, a bad share."""
    if not 0 <= control_share <= 0.9:
        raise AudienceError(BAD_SHARE)
    starts_on = starts_on or timezone.localdate()
    ends_on = ends_on or starts_on + dt.timedelta(days=13)
    if ends_on < starts_on:
        raise AudienceError(BAD_WINDOW)
    if arms and (any(share <= 0 for _, _, share in arms) or not math.isclose(sum(s for _, _, s in arms), 1.0)):
        raise AudienceError(BAD_ARMS)
    campaign = Campaign(
        name=name.strip() or "Campaign",
        objective=objective,
        purpose=_purpose(purpose),
        channel=_channel(channel),
        starts_on=starts_on,
        ends_on=ends_on,
        target=target_validate(dict(target or {})),
        control_share=control_share,
        seed=seed,
        default_offer=default_offer,
        owner=owner if getattr(owner, "pk", None) else None,
    )
    campaign.full_clean(exclude=["owner"])
    campaign.save()
    for key, arm_name, share in arms:
        CampaignArm.objects.create(campaign=campaign, key=key, name=arm_name, share=share)
    return campaign


def campaign_update(*, campaign: Campaign, **fields: Any) -> Campaign:
    """Change a draft's name, objective, window, target, control share, seed or default offer."""
    if not campaign.is_draft:
        raise AudienceError(NOT_DRAFT)
    allowed = {"name", "objective", "starts_on", "ends_on", "target", "control_share", "seed", "default_offer"}
    changed = [name for name, value in fields.items() if name in allowed and getattr(campaign, name) != value]
    if "target" in fields:
        target_validate(fields["target"])
    if "control_share" in fields and not 0 <= fields["control_share"] <= 0.9:
        raise AudienceError(BAD_SHARE)
    for name in changed:
        setattr(campaign, name, fields[name])
    if campaign.ends_on < campaign.starts_on:
        raise AudienceError(BAD_WINDOW)
    if changed:
        campaign.save(update_fields=[*changed, "updated_at"])
    return campaign


def rule_save(*, campaign: Campaign, rule: DecisionRule | None = None, **fields: Any) -> DecisionRule:
    """Add or change a cell of the decision matrix (drafts only)."""
    if not campaign.is_draft:
        raise AudienceError(NOT_DRAFT)
    rule = rule or DecisionRule(campaign=campaign)
    for name, value in fields.items():
        setattr(rule, name, value)
    if rule.segment_id is not None and campaign.target.get("segments") is not None:
        pass  # a rule may name any segment; the target decides who is in
    try:
        rule.full_clean()
    except ValidationError as exc:
        raise AudienceError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
    rule.save()
    return rule


def rule_delete(*, rule: DecisionRule) -> None:
    if not rule.campaign.is_draft:
        raise AudienceError(NOT_DRAFT)
    rule.delete()


def control_draw(
    strata: Iterable[tuple[Any, Any]], *, share: float, seed: int, arms: Sequence[tuple[str, float]] = ()
) -> dict[Any, tuple[str, str]]:
    """customer -> (group, arm), drawn at random within each stratum (segment) from `seed`.

    Each stratum holds out round(n × share) customers, the fraction drawn at random so that the share holds over
    many small strata; the treatment is split between arms in the arms' shares, within each stratum too. The
    customers are taken in a fixed order (strata by key, customers by id as text), so the draw depends only on the
    audience and the seed.
    """
    rng = np.random.default_rng(seed)
    by_stratum: dict[str, list] = defaultdict(list)
    for customer, stratum in strata:
        by_stratum[str(stratum)].append(customer)
    drawn: dict[Any, tuple[str, str]] = {}
    for key in sorted(by_stratum):
        members = sorted(by_stratum[key], key=str)
        order = rng.permutation(len(members))
        exact = len(members) * share
        n_control = int(exact) + (1 if rng.random() < exact - int(exact) else 0)
        for position, index in enumerate(order):
            customer = members[index]
            if position < n_control:
                drawn[customer] = (CONTROL, "")
        treated = [members[i] for i in order[n_control:]]
        if not arms:
            for customer in treated:
                drawn[customer] = (TREATMENT, "")
            continue
        bounds, total = [], 0.0
        for arm_key, arm_share in arms:
            total += arm_share
            bounds.append((arm_key, total))
        for position, customer in enumerate(treated):
            point = (position + rng.random()) / len(treated)
            drawn[customer] = (TREATMENT, next((k for k, b in bounds if point < b), bounds[-1][0]))
    return drawn


MEMBER_COLUMNS = ("campaign_id", "customer_id", "group", "arm", "stratum", "segment_id", "rule_id", "offer")
CONTACT_COLUMNS = ("customer_id", "campaign_id", "contacted_at")


def _write(model, rows: list, columns: tuple[str, ...]) -> None:
    """A batch of rows: COPY on PostgreSQL (client-side quoting of 100,000 INSERT values costs more than the rest of
    the launch), bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=BATCH)
        return
    names = ", ".join(f'"{model._meta.get_field(c.removesuffix("_id")).column}"' for c in columns)
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(f"COPY {model._meta.db_table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _offer(rules: list[DecisionRule], arm: str, default: str) -> tuple[DecisionRule | None, str]:
    for rule in rules:
        if not rule.arm or rule.arm == arm:
            return rule, rule.offer
    return None, default


@transaction.atomic
def campaign_launch(*, campaign: Campaign, actor=None) -> LaunchResult:
    """Freeze the audience, draw the control group (and the arms), record the contacts. Raises AudienceError."""
    started, started_at = time.monotonic(), timezone.now()
    campaign = Campaign.objects.select_for_update().select_related("purpose", "channel").get(pk=campaign.pk)
    if not campaign.is_draft:
        raise AudienceError(NOT_DRAFT)
    audience: Audience = audience_build(campaign)
    if not audience.candidates:
        raise AudienceError(EMPTY_AUDIENCE)
    arms = list(campaign.arms.values_list("key", "share"))
    drawn = control_draw(
        ((c.customer_id, c.segment_id) for c in audience.candidates),
        share=campaign.control_share,
        seed=campaign.seed,
        arms=arms,
    )
    contacted_at = campaign_start(campaign)
    members, contacts, control = [], [], 0
    for candidate in audience.candidates:
        group, arm = drawn[candidate.customer_id]
        rule, offer = _offer(candidate.rules, arm, campaign.default_offer)
        # plain tuples in MEMBER_COLUMNS' order: 100,000 model instances cost seconds for nothing
        members.append((campaign.pk, candidate.customer_id, group, arm, str(candidate.segment_id or ""),
                        candidate.segment_id, rule.pk if rule else None, offer))  # fmt: skip
        if group == CONTROL:
            control += 1
        else:  # control customers are never contacted: no contact record, no pressure
            contacts.append((candidate.customer_id, campaign.pk, contacted_at))
        if len(members) >= BATCH:
            _write(AudienceMember, members, MEMBER_COLUMNS)
            members = []
        if len(contacts) >= BATCH:
            _write(ContactRecord, contacts, CONTACT_COLUMNS)
            contacts = []
    _write(AudienceMember, members, MEMBER_COLUMNS)
    _write(ContactRecord, contacts, CONTACT_COLUMNS)
    size = len(audience.candidates)
    campaign.status = Campaign.Status.LAUNCHED
    campaign.matched = audience.matched
    campaign.audience_size = size
    campaign.control_size = control
    campaign.exclusions = audience.excluded
    campaign.segmentation_run = audience.segmentation_run
    campaign.launched_at = timezone.now()
    campaign.launched_by = actor if getattr(actor, "pk", None) else None
    campaign.save()
    processing_run_record(
        activity=ACTIVITY_MARKETING_CAMPAIGNS,
        kind="campaign_launch",
        started_at=started_at,
        actor=actor,
        counts={"matched": audience.matched, "treatment": size - control, "control": control,
                **{f"excluded_{k}": v for k, v in audience.excluded.items()}},
        parameters={"purpose": campaign.purpose.key, "channel": campaign.channel.key, "seed": campaign.seed,
                    "control_share": campaign.control_share},
        reference=campaign,
    )  # fmt: skip
    return LaunchResult(
        campaign, audience.matched, size - control, control, audience.excluded, time.monotonic() - started
    )


@transaction.atomic
def campaign_finish(*, campaign: Campaign) -> Campaign:
    """Mark a launched campaign finished (its window is over, or the analyst closes it)."""
    updated = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.LAUNCHED).update(
        status=Campaign.Status.FINISHED, updated_at=timezone.now()
    )
    campaign.refresh_from_db()
    if not updated and campaign.status != Campaign.Status.FINISHED:
        raise AudienceError("only a launched campaign can finish")
    return campaign
