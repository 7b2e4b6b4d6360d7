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


# Answers are given at the meeting, or written up within this many days after it was held.
ANSWER_DAYS = 30


def answer_problem(review: Review, today) -> str | None:
    """
    Why answers can't be recorded at this review today, or None: on the day of
    the meeting (planned for today), or once it is held, up to 30 days after.
    A review that never took place can't clear the relevance check.
    """
    if review.state == Review.State.CANCELLED:
        return "This review is cancelled."
    if review.state == Review.State.PLANNED:
        day = timezone.localdate(review.scheduled_at)
        if day > today:
            return f"Answer at the review: it is on {day:%d %b %Y}."
        if day < today:
            return (
                f"This review was planned for {day:%d %b %Y} and is not recorded as held: "
                "record it as held first."
            )
        return None
    held = timezone.localdate(review.held_at)
    if (today - held).days > ANSWER_DAYS:
        return (
            f"Answers are recorded at the review or within {ANSWER_DAYS} days after it "
            f"(held {held:%d %b %Y}): ask again at the next review."
        )
    return None


def can_answer(review: Review, today) -> bool:
    return answer_problem(review, today) is None


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
    if problem := answer_problem(locked, timezone.localdate(now)):
        raise ValidationError(problem)
    slas = {
        s.pk: s for s in ServiceLevel.objects.filter(contract_id=locked.contract_id, is_active=True)
    }
    errors = {}
    for sla_id, answer in answers.items():
        sla = slas.get(sla_id)
        if sla is None:
            errors[f"sla-{sla_id}"] = "Not an active SLA of this contract."
        elif len(answer.note.strip()) > NOTE_MAX:
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
