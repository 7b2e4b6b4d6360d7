"""Default escalation policy (PRODUCT.md) and which policy applies to a contract."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from escalations.models import EscalationPolicy, EscalationStep, Recipient

Condition = EscalationStep.Condition
State = EscalationStep.State

# Before the breach forecast was measured, the default early warning looked one
# period ahead; a default policy still holding it is moved to the new default.
OLD_FORECAST_ACTION = "Early warning: forecast to turn red within the next period."

DEFAULT_STEPS = [
    {
        "condition": Condition.FORECAST, "threshold": 2, "level": 0,
        "recipients": [Recipient.OWNER],
        "action": "Early warning: forecast to turn red within two periods. "
                  "Talk to the vendor before it does.",
    },
    {
        "condition": Condition.STATE, "state": State.YELLOW_OR_WORSE, "threshold": 14,
        "level": 1, "due_hours": 48,
        "recipients": [Recipient.OWNER, Recipient.VENDOR_CONTACTS],
        "action": "The account managers of both sides meet within 48 hours.",
    },
    {
        "condition": Condition.STATE, "state": State.RED, "threshold": 7, "level": 2,
        "recipients": [Recipient.LEADERSHIP, Recipient.OWNER],
        "action": "Senior leadership is informed.",
    },
    {
        "condition": Condition.MISSED_DUE, "threshold": 0, "level": 1,
        "recipients": [Recipient.OWNER, Recipient.LEADERSHIP],
        "action": "A due-by was missed: the escalation goes one level up.",
    },
    {
        "condition": Condition.DATA_LATE, "threshold": 7, "level": 1,
        "recipients": [Recipient.OWNER, Recipient.VENDOR_CONTACTS],
        "action": "Data is a week late: chase the vendor.",
    },
]  # fmt: skip


def default_policy(organization_id: int) -> EscalationPolicy:
    """
    The organisation's default policy (read only: it is created with the
    organisation, see `ensure_default_policy`). Pages and the API read it
    here; a GET never writes.
    """
    return EscalationPolicy.objects.get(organization_id=organization_id, contract__isnull=True)


def ensure_default_policy(organization_id: int) -> EscalationPolicy:
    """
    The organisation's default policy, created with PRODUCT.md's defaults when
    missing: when an organisation is created (a signal, and a migration for
    those created before), and by the workers that evaluate the rules.
    """
    policy = EscalationPolicy.objects.filter(
        organization_id=organization_id, contract__isnull=True
    ).first()
    if policy is not None:
        return policy
    try:
        with transaction.atomic():
            policy = EscalationPolicy.objects.create(
                organization_id=organization_id, name="Default escalation policy"
            )
            EscalationStep.objects.bulk_create(
                EscalationStep(organization_id=organization_id, policy=policy, order=i, **step)
                for i, step in enumerate(DEFAULT_STEPS, 1)
            )
    except IntegrityError:  # created concurrently
        policy = EscalationPolicy.objects.get(
            organization_id=organization_id, contract__isnull=True
        )
    return policy


def steps_by_contract(organization_id: int, contract_ids) -> dict[int, list[EscalationStep]]:
    """The steps that apply to each contract: its override, or the organisation's default."""
    ensure_default_policy(organization_id)
    steps: dict[int | None, list[EscalationStep]] = {}
    for step in EscalationStep.objects.filter(organization_id=organization_id).select_related(
        "policy"
    ):
        steps.setdefault(step.policy.contract_id, []).append(step)
    default = steps.get(None, [])
    return {cid: steps.get(cid, default) for cid in contract_ids}
