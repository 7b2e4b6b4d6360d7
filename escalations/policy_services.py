"""Checks and writes for escalation policies (admins only; the views check the role)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from contracts import bounds
from contracts.models import Contract
from escalations.models import EscalationPolicy, EscalationStep
from escalations.policies import ensure_default_policy
from slagov.audit import record as audit
from slagov.models import Organization

Condition = EscalationStep.Condition
NEEDS_THRESHOLD = {Condition.STATE, Condition.FORECAST, Condition.DATA_LATE}


def step_errors(step: dict) -> dict[str, str]:
    """
    What is wrong with one step, field → message (the policy page and the API
    both ask). Clears `state` where the condition has none.
    """
    errors = {}
    condition = step.get("condition")
    if condition == Condition.STATE and not step.get("state"):
        errors["state"] = "Say which state: yellow or worse, or red."
    if condition != Condition.STATE:
        step["state"] = ""
    if condition == Condition.VENDOR_WARNING:
        step["threshold"] = 0
    if condition in NEEDS_THRESHOLD and not step.get("threshold"):
        unit = "periods" if condition == Condition.FORECAST else "days"
        errors["threshold"] = f"How many {unit}? It must be at least 1."
    numbers = bounds.step_problems(
        condition=condition, threshold=step.get("threshold"), level=step.get("level"),
        due_hours=step.get("due_hours"),
    )  # fmt: skip
    return {**numbers, **errors}


@transaction.atomic
def policy_save(
    *, organization: Organization, actor, policy: EscalationPolicy, steps: list[dict]
) -> EscalationPolicy:
    """Replace the steps of a policy, in the order given."""
    if policy.organization_id != organization.pk:
        raise ValueError("policy of another organisation")
    if not steps:
        raise ValidationError("A policy needs at least one step.")
    conditions = [s["condition"] for s in steps]
    if conditions.count(Condition.MISSED_DUE) > 1:
        raise ValidationError("Only one step can handle a missed due-by.")
    # In place, by position: open escalations keep the step they were raised by
    # (a step removed from the end leaves theirs empty; their level stays).
    existing = list(EscalationStep.objects.filter(policy=policy).order_by("order", "pk"))
    for i, (step, values) in enumerate(zip(existing, steps, strict=False), 1):
        fields = {
            "state": "",
            "threshold": 0,
            "due_hours": None,
            "action": "",
            **values,
            "order": i,
        }
        for name, value in fields.items():
            setattr(step, name, value)
        step.save()
    EscalationStep.objects.filter(pk__in=[s.pk for s in existing[len(steps) :]]).delete()
    EscalationStep.objects.bulk_create(
        EscalationStep(organization=organization, policy=policy, order=i, **step)
        for i, step in enumerate(steps[len(existing) :], len(existing) + 1)
    )
    policy.save(update_fields=["updated_at"])
    audit(organization, actor, "policy changed", policy, _steps_said(steps))
    return policy


def _steps_said(steps: list[dict]) -> str:
    """`1. state ≥ 14 → level 1; 2. missed_due → level 2`: what the audit log keeps."""
    said = []
    for i, step in enumerate(steps, 1):
        threshold = step.get("threshold")
        condition = step["condition"] + (f" ≥ {threshold}" if threshold is not None else "")
        said.append(f"{i}. {condition} → level {step.get('level')}")
    return "; ".join(said)


@transaction.atomic
def policy_override_create(*, organization: Organization, actor, contract: Contract):
    """A contract's own policy, starting as a copy of the organisation's default."""
    if contract.organization_id != organization.pk:
        raise ValueError("contract of another organisation")
    default = ensure_default_policy(organization.pk)
    policy = EscalationPolicy.objects.create(
        organization=organization, contract=contract, name=f"{contract.reference} policy"
    )
    EscalationStep.objects.bulk_create(
        EscalationStep(
            organization=organization, policy=policy, order=s.order, condition=s.condition,
            state=s.state, threshold=s.threshold, level=s.level, recipients=s.recipients,
            due_hours=s.due_hours, action=s.action,
        )
        for s in default.steps.all()
    )  # fmt: skip
    audit(organization, actor, "policy overridden", policy, "a copy of the default policy")
    return policy


@transaction.atomic
def policy_override_remove(*, organization: Organization, actor, policy: EscalationPolicy):
    if policy.organization_id != organization.pk or policy.contract_id is None:
        raise ValueError("not a contract override of this organisation")
    audit(organization, actor, "policy override removed", policy)
    policy.delete()
