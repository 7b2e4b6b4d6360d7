"""Members and invitations: the admin's pages, and the invitee's link."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import messages
from django.contrib.auth import login, password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from slagov import members
from slagov.accounts import ask_to_enrol
from slagov.audit import record
from slagov.forms import HandoverForm, InviteForm, MemberForm
from slagov.models import Invitation, Membership, Organization
from slagov.views import landing
from slagov.web import errors_to_forms, post_only

Role = Membership.Role


def _require_inviter(tenant) -> None:
    if not members.may_invite(tenant.membership):
        raise PermissionDenied("Only organisation admins and vendor leads invite people.")


def _visible_members(tenant):
    totp = Authenticator.objects.filter(user_id=OuterRef("user_id"), type=Authenticator.Type.TOTP)
    rows = (
        Membership.objects.filter(organization=tenant.organization)
        .select_related("user", "vendor")
        .annotate(two_factor=Exists(totp))
    )
    if not tenant.is_admin:
        rows = rows.filter(vendor_id=tenant.vendor_id)
    return rows.order_by("-is_active", "user__first_name", "user__username")


def _visible_invitations(tenant):
    rows = Invitation.objects.filter(organization=tenant.organization).select_related(
        "vendor", "invited_by"
    )
    if not tenant.is_admin:
        rows = rows.filter(vendor_id=tenant.vendor_id)
    return rows


def member_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Every member with role, vendor, status, last sign-in; pending invitations; invite."""
    tenant = request.tenant
    _require_inviter(tenant)
    form = InviteForm(request.POST or None, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation = members.invitation_create(
                organization=tenant.organization, inviter=tenant.membership,
                email=data["email"], role=data["role"], vendor=data.get("vendor"),
            )  # fmt: skip
        except ValidationError as exc:
            errors_to_forms(exc, form)
        else:
            messages.success(
                request, f"Invitation sent to {invitation.email}: the link works for 7 days."
            )
            return redirect("members", org_slug=tenant.slug)
    context = {
        "members": _visible_members(tenant),
        "invitations": _visible_invitations(tenant).filter(state=Invitation.State.PENDING),
        "past_invitations": _visible_invitations(tenant).exclude(state=Invitation.State.PENDING)[
            :20
        ],
        "form": form,
        "now": timezone.now(),
        "security": SecurityForm(instance=tenant.organization) if tenant.is_admin else None,
    }
    return render(request, "members/list.html", context)


class SecurityForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["mfa_required"]
        widgets = {"mfa_required": forms.RadioSelect}


def organization_security(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Who must sign in with two factors; they are asked to enrol at their next sign-in."""
    tenant = request.tenant
    if refused := post_only(request):
        return refused
    tenant.require_admin()
    form = SecurityForm(request.POST, instance=tenant.organization)
    if form.is_valid():
        before = Organization.objects.get(pk=tenant.organization.pk).get_mfa_required_display()
        organization = form.save()
        record(organization, request.user, "two-factor rule changed", organization,
               f"{before} → {organization.get_mfa_required_display()}")  # fmt: skip
        messages.success(request, "Saved: whoever it now concerns enrols at their next sign-in.")
    else:
        messages.error(request, "Choose who must use two-factor sign-in.")
    return redirect("members", org_slug=tenant.slug)


def _member(tenant, membership_id: int) -> Membership:
    return get_object_or_404(_visible_members(tenant), pk=membership_id)


def member_detail(request: HttpRequest, org_slug: str, membership_id: int) -> HttpResponse:
    """One member: role and vendor, deactivate or reactivate, what to hand over."""
    tenant = request.tenant
    membership = _member(tenant, membership_id)
    tenant.require_admin()
    initial = {"role": membership.role, "vendor": membership.vendor,
               "vendor_lead": membership.vendor_lead}  # fmt: skip
    form = MemberForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            members.member_change(
                organization=tenant.organization, actor=tenant.membership,
                membership=membership, role=data["role"], vendor=data.get("vendor"),
                vendor_lead=data.get("vendor_lead", False),
            )  # fmt: skip
        except ValidationError as exc:
            errors_to_forms(exc, form)
        else:
            messages.success(request, "Saved: the new role applies from their next click.")
            return redirect("member", org_slug=tenant.slug, membership_id=membership.pk)
    context = {
        "member": membership,
        "form": form,
        "handover": members.handover(membership),
        "handover_form": HandoverForm(membership=membership),
        "tokens": membership.tokens.filter(revoked_at__isnull=True).count(),
    }
    return render(request, "members/detail.html", context)


def member_deactivate(request: HttpRequest, org_slug: str, membership_id: int) -> HttpResponse:
    tenant = request.tenant
    membership = _member(tenant, membership_id)
    if refused := post_only(request):
        return refused
    tenant.require_admin()
    action = members.member_reactivate if request.POST.get("reactivate") else None
    try:
        if action:
            action(organization=tenant.organization, actor=tenant.membership,
                   membership=membership)  # fmt: skip
            messages.success(request, f"{membership.user} is a member again.")
        else:
            members.member_deactivate(
                organization=tenant.organization, actor=tenant.membership, membership=membership
            )
            messages.success(
                request,
                f"{membership.user} is deactivated: their pages and API tokens stop working now, "
                "and they receive nothing more from this organisation.",
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("member", org_slug=tenant.slug, membership_id=membership.pk)


def member_handover(request: HttpRequest, org_slug: str, membership_id: int) -> HttpResponse:
    tenant = request.tenant
    membership = _member(tenant, membership_id)
    if refused := post_only(request):
        return refused
    tenant.require_admin()
    form = HandoverForm(request.POST, membership=membership)
    if form.is_valid():
        try:
            contracts, moved, refused_items = members.handover_apply(
                tenant=tenant, membership=membership, to=form.cleaned_data["to"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            text = f"Handed over {contracts} contracts and {moved} action items."
            if refused_items:
                text += f" {refused_items} action items could not go to them (another vendor's)."
            messages.success(request, text)
    else:
        messages.error(request, "Choose another active member.")
    return redirect("member", org_slug=tenant.slug, membership_id=membership.pk)


def invitation_action(request: HttpRequest, org_slug: str, invitation_id: int) -> HttpResponse:
    """Resend (a new link; the old one stops working) or withdraw a pending invitation."""
    tenant = request.tenant
    invitation = get_object_or_404(_visible_invitations(tenant), pk=invitation_id)
    if refused := post_only(request):
        return refused
    _require_inviter(tenant)
    try:
        if request.POST.get("action") == "resend":
            members.invitation_resend(
                organization=tenant.organization, actor=tenant.membership, invitation=invitation
            )
            messages.success(request, f"Sent again to {invitation.email}; the old link is void.")
        else:
            members.invitation_revoke(
                organization=tenant.organization, actor=tenant.membership, invitation=invitation
            )
            messages.success(request, f"The invitation to {invitation.email} was withdrawn.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("members", org_slug=tenant.slug)


# --- The invitee ---------------------------------------------------------------------------


class AcceptForm(forms.Form):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}))  # fmt: skip
    password2 = forms.CharField(label="Password again", strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}))  # fmt: skip

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            from django.contrib.auth import get_user_model

            probe = get_user_model()(
                username=self.email, email=self.email,
                first_name=data.get("first_name", ""), last_name=data.get("last_name", ""),
            )  # fmt: skip
            try:
                password_validation.validate_password(first, probe)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


@never_cache
@sensitive_post_parameters("password1", "password2")
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """
    The invitee's link: choose a password (a new login), or sign in with the
    login this address already has and accept. Says nothing about other addresses.
    """
    found = members.invitation_for_token(token)
    if found.problem:
        return render(request, "members/invitation.html", {"problem": found.problem}, status=410)
    invite = found.invitation
    existing = members.existing_user(invite.email)
    if existing is not None and members.is_dormant(existing):
        existing = None  # their login was switched off: a new password brings it back
    user = request.user if request.user.is_authenticated else None
    form = None
    if existing is None and user is None:
        form = AcceptForm(request.POST or None, email=invite.email)
    if request.method == "POST":
        try:
            if form is not None:
                if not form.is_valid():
                    raise ValidationError("")
                data = form.cleaned_data
                membership = members.invitation_accept(token=token, new_user={
                    "first_name": data["first_name"], "last_name": data["last_name"],
                    "password": data["password1"]})  # fmt: skip
                login(request, membership.user,
                      backend="allauth.account.auth_backends.AuthenticationBackend")  # fmt: skip
            elif user is not None:
                membership = members.invitation_accept(token=token, user=user)
                # Already signed in: the new organisation's two-factor rule applies now.
                ask_to_enrol(request, user)
            else:
                raise ValidationError("Sign in with your slagov login first.")
        except ValidationError as exc:
            if form is None or form.is_valid():
                messages.error(request, " ".join(m for m in exc.messages if m))
        else:
            messages.success(request, f"Welcome to {membership.organization.name}.")
            return redirect(landing(membership))
    context = {
        "invitation": invite,
        "form": form,
        "existing": existing is not None,
        "user_matches": user is not None
        and (user.email or "").strip().lower() == invite.email.strip().lower(),
        "login_url": reverse("login") + "?next=" + request.path,
    }
    return render(request, "members/invitation.html", context)
