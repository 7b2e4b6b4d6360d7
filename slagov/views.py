from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from slagov import health, services
from slagov.forms import PreferencesForm
from slagov.models import ApiToken, Membership
from slagov.tenancy import LAST_ORG_COOKIE, memberships_for
from slagov.web import errors_to_forms


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. “monthly export job”."
    )
    membership = forms.ModelChoiceField(queryset=Membership.objects.none(), label="For member")

    def __init__(self, *args, memberships, own: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = memberships
        if own:  # a member's own token: nothing to choose
            self.fields["membership"].empty_label = None
        self.fields["membership"].label_from_instance = lambda m: (
            f"{m.user.get_full_name() or m.user.username} — {m.get_role_display()}"
            + (f" ({m.vendor.name})" if m.vendor else "")
        )


def landing(membership: Membership) -> str:
    """Where a member starts: leadership on its view, vendor users on their data page."""
    slug = membership.organization.slug
    if membership.is_vendor:
        return reverse("metrics:submissions", kwargs={"org_slug": slug})
    if membership.role == Membership.Role.LEADERSHIP:
        return reverse("escalations:leadership", kwargs={"org_slug": slug})
    return reverse("contracts:portfolio", kwargs={"org_slug": slug})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The organisation last opened (or the only one), at the role's page; else the list."""
    memberships = memberships_for(request.user)
    last = request.COOKIES.get(LAST_ORG_COOKIE)
    chosen = [m for m in memberships if m.organization.slug == last]
    if len(memberships) == 1:
        chosen = memberships
    if chosen:
        return redirect(landing(chosen[0]))
    return redirect("organizations")


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    return render(request, "organizations.html", {"memberships": memberships_for(request.user)})


def healthz(request: HttpRequest) -> HttpResponse:
    """
    For the load balancer and the compose healthcheck: the database, Redis, and
    whether a worker ran the heartbeat lately (which proves beat and the
    broker too). 503 only when the database can't answer (pages need it;
    without Redis or a worker they still work, late work waits in the
    database). Each part says ok or what is wrong in a word; error text goes
    to the log, never to the caller.
    """
    parts = health.check()
    healthy = parts["database"] == "ok"
    degraded = any(value not in ("ok", "in-process", "not used") for value in parts.values())
    status = "error" if not healthy else ("degraded" if degraded else "ok")
    return JsonResponse({"status": status, **parts}, status=200 if healthy else 503)


def _visible_tokens(tenant):
    """Admins see every token of the organisation; others only their own."""
    tokens = ApiToken.objects.filter(organization=tenant.organization).select_related(
        "membership__user", "membership__vendor", "created_by"
    )
    if not tenant.is_admin:
        tokens = tokens.filter(membership=tenant.membership)
    return tokens


def token_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """API tokens: admins issue them for any member, everyone for themselves."""
    tenant = request.tenant
    memberships = (
        Membership.objects.filter(organization=tenant.organization, is_active=True)
        .select_related("user", "vendor")
        .order_by("user__username")
        if tenant.is_admin
        else Membership.objects.filter(pk=tenant.membership.pk).select_related("user", "vendor")
    )
    form = ApiTokenForm(request.POST or None, memberships=memberships, own=not tenant.is_admin)
    new_key = None
    if request.method == "POST" and form.is_valid():
        token, new_key = services.api_token_create(
            organization=tenant.organization,
            actor=request.user,
            membership=form.cleaned_data["membership"],
            name=form.cleaned_data["name"],
        )
        messages.success(
            request, f"Token “{token.name}” created. Copy the key now: it is shown once."
        )
        form = ApiTokenForm(memberships=memberships, own=not tenant.is_admin)
    context = {
        "tokens": _visible_tokens(tenant).order_by("-created_at"),
        "form": form,
        "new_key": new_key,
    }
    return render(request, "tokens.html", context)


def token_revoke(request: HttpRequest, org_slug: str, token_id: int) -> HttpResponse:
    tenant = request.tenant
    token = get_object_or_404(_visible_tokens(tenant), pk=token_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    services.api_token_revoke(organization=tenant.organization, actor=request.user, token=token)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("tokens", org_slug=tenant.slug)


def preferences(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The member's own settings in this organisation."""
    membership = request.tenant.membership
    form = PreferencesForm(request.POST or None, instance=membership)
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_preferences_save(
                membership=membership, actor=request.user, data=form.cleaned_data
            )
        except ValidationError as exc:
            errors_to_forms(exc, form)
        else:
            messages.success(request, "Saved.")
            return redirect("preferences", org_slug=org_slug)
    return render(request, "preferences.html", {"form": form})


class NameForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """A person's own account: their name; e-mail, password, two-factor and sessions
    are django-allauth's pages, one click away (the menu)."""
    from slagov.accounts import has_second_factor, mfa_required_by

    user = request.user
    names = {"first_name": user.first_name, "last_name": user.last_name}
    form = NameForm(request.POST or None, initial=names)
    if request.method == "POST" and form.is_valid():
        user.first_name = form.cleaned_data["first_name"].strip()
        user.last_name = form.cleaned_data["last_name"].strip()
        user.save(update_fields=["first_name", "last_name"])
        messages.success(request, "Saved.")
        return redirect("account")
    context = {
        "form": form,
        "memberships": memberships_for(user),
        "has_second_factor": has_second_factor(user),
        "required_by": [o.name for o in mfa_required_by(user)],
    }
    return render(request, "account/profile.html", context)
