"""Joint review pages: the calendar, one review with its agenda, holding it, the pack."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone

from contracts import selectors as contract_selectors
from reviews import exports, relevance, selectors, services
from reviews.forms import (
    ActionRows,
    CancelForm,
    HoldForm,
    ScheduleForm,
    TopicForm,
    owner_choices,
)
from reviews.models import Review
from slagov import exports as table_exports
from slagov.web import IdUrl, errors_to_forms, post_only, render_page


def _back(review: Review) -> HttpResponse:
    return redirect("reviews:detail", org_slug=review.contract.organization.slug,
                    review_id=review.pk)  # fmt: skip


CALENDAR_PAGE = 50  # reviews a page of each calendar list shows


def _without(request: HttpRequest, param: str) -> str:
    """The request's query string without `param`: the other list's page and filters kept."""
    query = request.GET.copy()
    query.pop(param, None)
    return query.urlencode()


def review_calendar(request: HttpRequest, org_slug: str) -> HttpResponse:
    contract_id = request.GET.get("contract")
    contract = None
    if contract_id:
        if not contract_id.isascii() or not contract_id.isdigit():
            return HttpResponse("contract: a contract id (ASCII digits)", status=400)
        contract = contract_selectors.contract_get(request.tenant, int(contract_id))
    contract_pk = contract.pk if contract else None
    if fmt := table_exports.requested_format(request):
        planned, past = selectors.calendar(contract_id=contract_pk)
        name = f"reviews-{contract.reference}" if contract else "reviews"
        return exports.REVIEWS.response(fmt, planned + past, name=name)
    # Each list a page at a time (its own page parameter); the export has every row.
    planned = Paginator(selectors.calendar_planned(contract_id=contract_pk), CALENDAR_PAGE)
    past = Paginator(selectors.calendar_past(contract_id=contract_pk), CALENDAR_PAGE)
    planned_page = planned.get_page(request.GET.get("planned"))
    past_page = past.get_page(request.GET.get("page"))
    context = {
        "planned": list(planned_page),
        "past": list(past_page),
        "planned_page": planned_page,
        "past_page": past_page,
        "planned_query": _without(request, "planned"),
        "past_query": _without(request, "page"),
        "contract": contract,
        "review_url": IdUrl("reviews:detail", "review_id", org_slug=org_slug),
        "contract_url": IdUrl("contracts:contract", "contract_id", org_slug=org_slug),
    }
    return render_page(request, "reviews/calendar.html", context, partial="lists")


def _detail_context(request, review: Review, **forms) -> dict:
    tenant = request.tenant
    planned = review.state == Review.State.PLANNED
    context = {
        "review": review,
        "items": list(review.items.all()),
        "people": list(review.people.all()),
        "events": list(review.events.select_related("actor")),
        "signatures": {s.side: s for s in review.signatures.all()},
        "actions": selectors.review_actions(review),
        "can_manage": tenant.can_manage,
        "planned": planned,
        "my_side": services.side_of(tenant),
    }
    if planned and tenant.can_manage:
        context.setdefault("move_form", ScheduleForm(initial={
            "scheduled_at": timezone.localtime(review.scheduled_at),
            "duration_minutes": review.duration_minutes, "location": review.location,
        }))  # fmt: skip
        context.setdefault("cancel_form", CancelForm())
    if planned and (tenant.can_manage or tenant.is_vendor):
        context.setdefault("topic_form", TopicForm())
    context.update(relevance.relevance_context(tenant, review, timezone.localdate()))
    context.update({k: v for k, v in forms.items() if v is not None})
    return context


def review_detail(request: HttpRequest, org_slug: str, review_id: int) -> HttpResponse:
    review = selectors.review_get(request.tenant, review_id)
    return render(request, "reviews/detail.html", _detail_context(request, review))


def review_plan(request: HttpRequest, org_slug: str, contract_id: int) -> HttpResponse:
    contract = contract_selectors.contract_get(request.tenant, contract_id)
    request.tenant.require_manage()
    form = ScheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            review = services.review_plan(
                organization=request.tenant.organization, actor=request.user, contract=contract,
                **form.cleaned_data,
            )  # fmt: skip
        except ValidationError as exc:
            errors_to_forms(exc, form)
        else:
            messages.success(request, "Review planned; both sides are invited.")
            return _back(review)
    status = 400 if request.method == "POST" else 200
    return render(request, "reviews/plan.html", {"contract": contract, "form": form},
                  status=status)  # fmt: skip


def review_move(request: HttpRequest, org_slug: str, review_id: int) -> HttpResponse:
    review = selectors.review_get(request.tenant, review_id)
    if refused := post_only(request):
        return refused
    request.tenant.require_manage()
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            services.review_move(review=review, actor=request.user, tenant=request.tenant,
                                 **form.cleaned_data)  # fmt: skip
        except ValidationError as exc:
            errors_to_forms(exc, form)
        else:
            messages.success(request, "Moved; both sides are invited again.")
            return _back(review)
    context = _detail_context(request, review, move_form=form)
    return render(request, "reviews/detail.html", context, status=400)


def review_cancel(request: HttpRequest, org_slug: str, review_id: int) -> HttpResponse:
    review = selectors.review_get(request.tenant, review_id)
    if refused := post_only(request):
        return refused
    request.tenant.require_manage()
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.review_cancel(review=review, actor=request.user, tenant=request.tenant,
                                   reason=form.cleaned_data["reason"])  # fmt: skip
        except ValidationError as exc:
            errors_to_forms(exc, form)
        else:
            messages.success(request, "Cancelled; the attendees are told.")
            return _back(review)
    context = _detail_context(request, review, cancel_form=form)
    return render(request, "reviews/detail.html", context, status=400)


def review_agenda(request: HttpRequest, org_slug: str, review_id: int) -> HttpResponse:
    """GET: the agenda (an htmx partial); POST: draft it again from today's data."""
    review = selectors.review_get(request.tenant, review_id)
    if request.method == "POST":
        try:
            services.agenda_refresh(review=review, actor=request.user, tenant=request.tenant)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "The agenda is drafted again from today's data.")
        if not request.htmx:
            return _back(review)
        review = selectors.review_get(request.tenant, review_id)
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    context = _detail_context(request, review)
    return render_page(request, "reviews/detail.html", context, partial="agenda")


def review_topic_add(request: HttpRequest, org_slug: str, review_id: int) -> HttpResponse:
    review = selectors.review_get(request.tenant, review_id)
    if refused := post_only(request):
        return refused
    form = TopicForm(request.POST)
    if form.is_valid():
        try:
            services.topic_add(review=review, actor=request.user, tenant=request.tenant,
                               **form.cleaned_data)  # fmt: skip
        except ValidationError as exc:
            errors_to_forms(exc, form)
        else:
            if not request.htmx:
                messages.success(request, "Topic added.")
                return _back(review)
            review = selectors.review_get(request.tenant, review_id)
            form = TopicForm()
    context = _detail_context(request, review, topic_form=form)
    response = render_page(request, "reviews/detail.html", context, partial="agenda")
    response.status_code = 400 if form.errors else 200
    return response


def review_hold(request: HttpRequest, org_slug: str, review_id: int) -> HttpResponse:
    review = selectors.review_get(request.tenant, review_id)
    request.tenant.require_manage()
    if review.state != Review.State.PLANNED:
        messages.info(request, f"This review is {review.get_state_display().lower()}.")
        return _back(review)
    choices = owner_choices(review)
    form = HoldForm(request.POST or None, review=review)
    rows = ActionRows(request.POST or None, prefix="actions", form_kwargs={"choices": choices})
    if request.method == "POST" and form.is_valid() and rows.is_valid():
        users = {str(u.pk): u for u in get_user_model().objects.filter(
            pk__in=[r["owner"] for r in rows.cleaned_data if r.get("title")]
        )}  # fmt: skip
        record = services.Minutes(
            held_at=form.cleaned_data["held_at"],
            minutes=form.minutes(),
            attended={int(pk) for pk in form.cleaned_data["attended"]},
            guests=services.guest_lines(form.cleaned_data["guests"]),
            decisions=form.cleaned_data["decisions"],
            actions=[
                {"title": r["title"], "owner": users[r["owner"]], "due_date": r["due_date"]}
                for r in rows.cleaned_data
                if r.get("title")
            ],
        )
        try:
            services.review_hold(review=review, actor=request.user, tenant=request.tenant,
                                 record=record)  # fmt: skip
        except ValidationError as exc:
            errors_to_forms(exc, form)
        else:
            messages.success(request, "Held: the minutes and actions are recorded.")
            return _back(review)
    status = 400 if request.method == "POST" else 200
    context = {"review": review, "form": form, "rows": rows}
    return render(request, "reviews/hold.html", context, status=status)


def review_pack(request: HttpRequest, org_slug: str, review_id: int) -> HttpResponse:
    from reviews.pack import PackUnavailable

    review = selectors.review_get(request.tenant, review_id)
    if review.held_at is None:
        return HttpResponse("The pack exists once the review is held.", status=409)
    try:
        pdf, _ = services.review_pack(review)
    except PackUnavailable as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain")
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"review-{review.contract.reference}-{review.held_at:%Y-%m-%d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def review_sign(request: HttpRequest, org_slug: str, review_id: int) -> HttpResponse:
    review = selectors.review_get(request.tenant, review_id)
    if refused := post_only(request):
        return refused
    try:
        services.review_sign(review=review, actor=request.user, tenant=request.tenant)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Signed: your side's signature is on the pack.")
    return _back(review)
