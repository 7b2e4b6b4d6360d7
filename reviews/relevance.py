"""
"Still the right measure?": each SLA of a contract, asked at a review. An
answer is kept per review and SLA (answering again replaces it); an SLA found
no longer right keeps what should change. Governance health counts the SLAs
nobody has asked this of for a quarter (`reviews.health`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from contracts.models import ServiceLevel
from reviews.models import RelevanceCheck, Review
from slagov import audit

NOTE_MAX = 500


@dataclass(frozen=True)
class Answer:
    still_right: bool
    note: str = ""


@dataclass(frozen=True)
class Row:
    sla: ServiceLevel
    check: RelevanceCheck | None


def relevance_rows(review: Review) -> list[Row]:
    """The contract's active SLAs with this review's answer for each (two queries)."""
    checks = {c.service_level_id: c for c in review.relevance_checks.select_related("checked_by")}
    slas = ServiceLevel.objects.filter(contract_id=review.contract_id, is_active=True)
    return [Row(sla, checks.get(sla.pk)) for sla in slas.order_by("-kind", "code")]


def can_answer(review: Review, today) -> bool:
    """From the day of the meeting, while it isn't cancelled."""
    return review.state != Review.State.CANCELLED and (
        timezone.localdate(review.scheduled_at) <= today
    )


@transaction.atomic
def relevance_record(
    *, review: Review, actor, tenant, answers: dict[int, Answer], now: datetime | None = None
) -> int:
    """
    Record both sides' answers at a review (account managers of the customer
    and the vendor's users). Only the contract's active SLAs can be answered;
    "no" needs what should change. Returns how many answers were recorded.
    """
    if not (tenant.can_manage or tenant.is_vendor):
        raise PermissionDenied("The account managers of both sides and vendor users answer this.")
    now = now or timezone.now()
    locked = Review.objects.select_for_update().get(pk=review.pk)
    if not can_answer(locked, timezone.localdate(now)):
        if locked.state == Review.State.CANCELLED:
            raise ValidationError("This review is cancelled.")
        day = timezone.localdate(locked.scheduled_at)
        raise ValidationError(f"Answer at the review: it is on {day:%d %b %Y}.")
    slas = {
        s.pk: s for s in ServiceLevel.objects.filter(contract_id=locked.contract_id, is_active=True)
    }
    errors = {}
    for sla_id, answer in answers.items():
        sla = slas.get(sla_id)
        if sla is None:
            errors[f"sla-{sla_id}"] = "Not an active SLA of this contract."
        elif len(answer.note) > NOTE_MAX:
            errors[f"note-{sla_id}"] = f"{sla.code}: at most {NOTE_MAX} characters."
        elif not answer.still_right and not answer.note.strip():
            errors[f"note-{sla_id}"] = f"{sla.code}: what should change?"
    if errors:
        raise ValidationError(errors)
    for sla_id, answer in answers.items():
        RelevanceCheck.objects.update_or_create(
            organization_id=locked.organization_id, review=locked, service_level_id=sla_id,
            defaults={"still_right": answer.still_right, "note": answer.note.strip(),
                      "checked_by": actor, "checked_at": now},
        )  # fmt: skip
    if answers:
        changes = [s for i, s in slas.items() if i in answers and not answers[i].still_right]
        detail = f"{len(answers)} SLA(s) checked for relevance" + (
            f"; to change: {', '.join(s.code for s in changes)}" if changes else ""
        )
        audit.record(locked.organization, actor, "review.relevance", locked, detail)
    return len(answers)


def relevance_context(tenant, review: Review, today) -> dict:
    """What the review page shows of it, and whether this person may answer now."""
    return {
        "relevance": relevance_rows(review),
        "relevance_open": (tenant.can_manage or tenant.is_vendor) and can_answer(review, today),
    }
