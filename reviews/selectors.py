"""Reads for joint reviews. Visibility comes from the scoped managers: 404 outside it."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from reviews.models import ActionItem, AgendaItem, Review, ReviewAttendee

RECENT_DAYS = 183  # the calendar's past: about six months


def review_get(tenant, review_id: int) -> Review:
    """One review the member may see, with what its page shows (else 404)."""
    return get_object_or_404(
        Review.objects.select_related(
            "contract__vendor", "contract__owner", "contract__organization", "escalation",
            "service_level",
        ).prefetch_related(
            Prefetch("items", queryset=AgendaItem.objects.select_related("added_by")),
            Prefetch("people", queryset=ReviewAttendee.objects.order_by("side", "name")),
            "signatures",
        ),
        pk=review_id,
    )  # fmt: skip


def calendar_planned(*, contract_id: int | None = None) -> QuerySet[Review]:
    """The calendar's planned reviews, soonest first."""
    return (
        _calendar_rows(contract_id)
        .filter(state=Review.State.PLANNED)
        .order_by("scheduled_at", "pk")
    )


def calendar_past(*, contract_id: int | None = None) -> QuerySet[Review]:
    """The calendar's past: held, signed or cancelled in the last six months, newest first."""
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    return (
        _calendar_rows(contract_id)
        .filter(scheduled_at__gte=since)
        .exclude(state=Review.State.PLANNED)
        .order_by("-scheduled_at", "-pk")
    )


def _calendar_rows(contract_id: int | None) -> QuerySet[Review]:
    rows = Review.objects.select_related("contract__vendor")
    return rows if contract_id is None else rows.filter(contract_id=contract_id)


def calendar(*, contract_id: int | None = None) -> tuple[list[Review], list[Review]]:
    """(calendar_planned, calendar_past) as lists, in one query: the calendar's export."""
    reviews = list(
        calendar_planned(contract_id=contract_id) | calendar_past(contract_id=contract_id)
    )
    planned = sorted(
        (r for r in reviews if r.state == Review.State.PLANNED),
        key=lambda r: (r.scheduled_at, r.pk),
    )
    past = sorted(
        (r for r in reviews if r.state != Review.State.PLANNED),
        key=lambda r: (r.scheduled_at, r.pk),
        reverse=True,
    )
    return planned, past


def contract_reviews(contract) -> QuerySet[Review]:
    """A contract's next planned reviews and its latest held ones."""
    return Review.objects.filter(contract=contract).order_by("-scheduled_at")


def review_actions(review: Review) -> list[ActionItem]:
    return list(
        ActionItem.objects.filter(review=review).select_related("owner").order_by("due_date", "pk")
    )
