"""Escalation pages: the list, one escalation with its timeline, policies, delivery."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from contracts import selectors as contract_selectors
from contracts.models import Contract
from escalations import exports, notify, policy_services, services
from escalations.filters import EscalationListFilter
from escalations.forms import MeetingForm, ResolveForm, StepFormSet
from escalations.models import Escalation, EscalationPolicy, EscalationStep, Notification
from escalations.policies import default_policy
from slagov import exports as table_exports
from slagov.models import Organization, PendingWork
from slagov.tenancy import resolve_tenant, tenant_scope
from slagov.web import IdUrl, post_only, render_page

LIST_LIMIT = 50  # rows a page of the list shows; its export has every row the filters select


def escalation_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    fmt = table_exports.requested_format(request)
    data = request.GET.copy()
    data.pop("format", None)
    filterset = EscalationListFilter(
        data or {"state": "active"},  # the page's first view, and its export
        queryset=Escalation.objects.select_related(
            "service_level", "contract__vendor", "acknowledged_by"
        ).order_by("state", "-level", "-opened_at"),
        request=request,
    )
    if fmt:
        return table_exports.refused_filter(filterset) or exports.ESCALATIONS.response(
            fmt, filterset.qs
        )
    page = Paginator(filterset.qs, LIST_LIMIT).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filterset,
        "escalations": list(page),
        "page": page,
        "page_query": query.urlencode(),
        "escalation_url": IdUrl("escalations:detail", "escalation_id", org_slug=org_slug),
    }
    return render_page(request, "escalations/list.html", context, partial="table")


def _get(tenant, escalation_id: int) -> Escalation:
    return get_object_or_404(
        Escalation.objects.select_related(
            "service_level__health", "contract__vendor", "contract__owner", "step",
            "acknowledged_by", "resolved_by",
        ),
        pk=escalation_id,
    )  # fmt: skip


def _meetings(escalation: Escalation) -> list:
    """The meetings (reviews) this escalation called or shares, soonest first."""
    from reviews.models import Review

    return list(
        Review.objects.filter(Q(escalation=escalation) | Q(also_for=escalation))
        .distinct()
        .order_by("scheduled_at", "pk")
    )


def _detail_context(escalation: Escalation, *, meeting_form: MeetingForm | None = None) -> dict:
    return {
        "escalation": escalation,
        "events": list(escalation.events.select_related("actor")),
        "meetings": _meetings(escalation),
        "meeting_form": MeetingForm() if meeting_form is None else meeting_form,
        "resolve_form": ResolveForm(),
        "notifications": list(escalation.notifications.select_related("event")),
    }


def escalation_detail(request: HttpRequest, org_slug: str, escalation_id: int) -> HttpResponse:
    escalation = _get(request.tenant, escalation_id)
    return render(request, "escalations/detail.html", _detail_context(escalation))


def escalation_acknowledge(request: HttpRequest, org_slug: str, escalation_id: int):
    escalation = _get(request.tenant, escalation_id)
    if refused := post_only(request):
        return refused
    if services.escalation_acknowledge(escalation=escalation, actor=request.user):
        messages.success(request, "Acknowledged.")
    else:
        messages.info(request, "It was already acknowledged or resolved.")
    return redirect("escalations:detail", org_slug=org_slug, escalation_id=escalation.pk)


def escalation_meeting(request: HttpRequest, org_slug: str, escalation_id: int):
    escalation = _get(request.tenant, escalation_id)
    if refused := post_only(request):
        return refused
    form = MeetingForm(request.POST)
    if form.is_valid():
        try:
            services.escalation_record_meeting(
                escalation=escalation, actor=request.user, tenant=request.tenant,
                **form.cleaned_data,
            )  # fmt: skip
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, "Meeting recorded.")
            return redirect("escalations:detail", org_slug=org_slug, escalation_id=escalation.pk)
    context = _detail_context(escalation, meeting_form=form)
    return render(request, "escalations/detail.html", context, status=400)


def escalation_resolve(request: HttpRequest, org_slug: str, escalation_id: int):
    escalation = _get(request.tenant, escalation_id)
    if refused := post_only(request):
        return refused
    request.tenant.require_manage()  # who may resolve, before what they sent is judged
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            services.escalation_resolve(
                escalation=escalation, actor=request.user, note=form.cleaned_data["note"],
                quiet_until=form.cleaned_data["quiet_until"], tenant=request.tenant,
            )  # fmt: skip
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                messages.error(request, " ".join(exc.messages))
                return redirect(
                    "escalations:detail", org_slug=org_slug, escalation_id=escalation.pk
                )
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, "Resolved.")
            return redirect("escalations:detail", org_slug=org_slug, escalation_id=escalation.pk)
    context = _detail_context(escalation)
    context["resolve_form"] = form
    return render(request, "escalations/detail.html", context, status=400)


def _policy_page(request: HttpRequest, policy: EscalationPolicy, contract: Contract | None):
    tenant = request.tenant
    queryset = EscalationStep.objects.filter(policy=policy).order_by("order")
    overrides = EscalationPolicy.objects.filter(contract__isnull=False).select_related("contract")
    if not tenant.is_admin:
        if request.method == "POST":
            tenant.require_admin()
        # Only admins change a policy: the others read it, as a table, not a form.
        context = {"policy": policy, "contract": contract, "steps": list(queryset),
                   "overrides": overrides}  # fmt: skip
        return render(request, "escalations/policy.html", context)
    formset = StepFormSet(request.POST or None, queryset=queryset, prefix="steps")
    if request.method == "POST" and formset.is_valid():
        steps = [
            {k: v for k, v in form.cleaned_data.items() if k not in {"id", "DELETE"}}
            for form in formset.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        try:
            policy_services.policy_save(
                organization=tenant.organization, actor=request.user, policy=policy,
                steps=steps,
            )  # fmt: skip
        except ValidationError as exc:
            formset._non_form_errors = formset.error_class(exc.messages)
        else:
            messages.success(request, "Escalation policy saved.")
            return redirect(request.path)
    context = {"policy": policy, "contract": contract, "formset": formset, "overrides": overrides}
    return render(request, "escalations/policy.html", context)


@require_http_methods(["GET", "POST"])
def policy_default(request: HttpRequest, org_slug: str) -> HttpResponse:
    request.tenant.require_customer_side()
    return _policy_page(request, default_policy(request.tenant.organization.pk), None)


@require_http_methods(["GET", "POST"])
def policy_contract(request: HttpRequest, org_slug: str, contract_id: int) -> HttpResponse:
    contract = contract_selectors.contract_get(request.tenant, contract_id)
    request.tenant.require_customer_side()
    policy = EscalationPolicy.objects.filter(contract=contract).first()
    if policy is None:
        if request.method == "POST" and "create" in request.POST:
            request.tenant.require_admin()
            policy = policy_services.policy_override_create(
                organization=request.tenant.organization, actor=request.user, contract=contract
            )
            messages.success(request, f"{contract.reference} now has its own policy.")
            return redirect(request.path)
        return render(request, "escalations/policy_none.html", {"contract": contract})
    if request.method == "POST" and "remove" in request.POST:
        request.tenant.require_admin()
        policy_services.policy_override_remove(
            organization=request.tenant.organization, actor=request.user, policy=policy
        )
        messages.success(request, f"{contract.reference} follows the default policy again.")
        return redirect(request.path)
    return _policy_page(request, policy, contract)


def _ack_actor(request: HttpRequest, notification):
    """
    Who an acknowledge link credits: a signed-in user only if they can see the
    escalation (else 404, as on every page: a forwarded link tells an outsider
    nothing); nobody signed in, the recipient the link was sent to.
    """
    if not request.user.is_authenticated:
        return notification.user
    slug = Organization.objects.values_list("slug", flat=True).get(pk=notification.organization_id)
    tenant = resolve_tenant(request.user, slug)  # 404 for a non-member
    with tenant.activate():
        _get(tenant, notification.escalation_id)  # 404 for another vendor's escalation
    return request.user


def ack(request: HttpRequest, token: str) -> HttpResponse:
    """
    The acknowledge link from an e-mail: signed, expiring, single-use. A GET
    shows what will be acknowledged (link scanners must not acknowledge); the
    button posts.
    """
    try:
        notification = notify.ack_notification(token)
    except notify.AckLinkError as exc:
        return render(request, "escalations/ack.html", {"error": str(exc)}, status=410)
    escalation = notification.escalation
    actor = _ack_actor(request, notification)
    if request.method == "POST":
        # The link is the capability: it acts within its own organisation only.
        with tenant_scope(notification.organization_id):
            done = services.ack_by_link(notification=notification, actor=actor)
        return render(
            request, "escalations/ack.html",
            {"escalation": escalation, "done": True, "already": not done},
        )  # fmt: skip
    if request.method not in ("GET", "HEAD"):
        raise PermissionDenied
    return render(request, "escalations/ack.html", {"escalation": escalation, "token": token})


DELIVERY_ROWS = 200


def delivery(request: HttpRequest, org_slug: str) -> HttpResponse:
    """
    Admins: e-mails that failed (with the reason, and a button to send them
    again), e-mails waiting to be tried again, and background work that
    failed. What is sent and on time isn't listed.
    """
    request.tenant.require_admin()
    organization = request.tenant.organization
    outbox = Notification.objects.filter(organization=organization).only(
        "kind", "email", "state", "attempts", "next_attempt_at", "last_error", "created_at"
    )
    context = {
        "failed": outbox.filter(state=Notification.State.FAILED).order_by("-created_at")[
            :DELIVERY_ROWS
        ],
        "retrying": outbox.filter(state=Notification.State.PENDING, attempts__gt=0)
        .exclude(last_error="")
        .order_by("next_attempt_at")[:DELIVERY_ROWS],
        "work_failed": PendingWork.objects.filter(
            organization=organization, failed_at__isnull=False
        ).order_by("-failed_at")[:DELIVERY_ROWS],
    }
    return render(request, "escalations/delivery.html", context)


def delivery_send_again(request: HttpRequest, org_slug: str, notification_id: int) -> HttpResponse:
    notification = get_object_or_404(Notification, pk=notification_id)  # another's: a 404
    if refused := post_only(request):
        return refused
    request.tenant.require_admin()
    if services.notification_send_again(
        organization=request.tenant.organization, actor=request.user, notification=notification
    ):
        messages.success(request, f"The e-mail to {notification.email} goes out again.")
    else:
        messages.info(request, f"The e-mail to {notification.email} had not failed.")
    return redirect("escalations:delivery", org_slug=org_slug)
