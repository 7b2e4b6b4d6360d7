"""Pages of governance health: the relevance check at a review, the health of a contract."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from reviews import relevance, selectors
from reviews.views import _detail_context
from slagov.web import post_only

CHOICES = {"yes": True, "no": False}


def _answers(request: HttpRequest, rows: list[relevance.Row]) -> dict[int, relevance.Answer]:
    """The answered SLAs of the form (`sla-<id>`: yes | no; `note-<id>`); blanks are skipped."""
    answers = {}
    for row in rows:
        choice = request.POST.get(f"sla-{row.sla.pk}", "")
        if choice in CHOICES:
            note = request.POST.get(f"note-{row.sla.pk}", "")
            answers[row.sla.pk] = relevance.Answer(CHOICES[choice], note)
    return answers


def review_relevance(request: HttpRequest, org_slug: str, review_id: int) -> HttpResponse:
    """Both sides answer "still the right measure?" for the contract's SLAs."""
    review = selectors.review_get(request.tenant, review_id)
    if refused := post_only(request):
        return refused
    rows = relevance.relevance_rows(review)
    answers = _answers(request, rows)
    try:
        if not answers:
            raise ValidationError("Answer yes or no for at least one SLA.")
        count = relevance.relevance_record(review=review, actor=request.user,
                                           tenant=request.tenant, answers=answers)  # fmt: skip
    except ValidationError as exc:
        context = _detail_context(request, review)
        context["relevance_errors"] = exc.messages
        return render(request, "reviews/detail.html", context, status=400)
    messages.success(request, f"Recorded for {count} SLA{'s' if count != 1 else ''}.")
    return redirect("reviews:detail", org_slug=org_slug, review_id=review.pk)
