"""
An organisation's people: invitations (sent through the outbox, accepted with a
signed, expiring, single-use link), roles, deactivation and reactivation.

Every write here is made by an admin of the organisation (or, for invitations
of vendor colleagues, by a vendor lead) and leaves an `AuditEvent`; memberships
keep their own history too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from slagov.audit import record as audit
from slagov.models import ApiToken, Invitation, Membership, Organization

INVITATION_DAYS = 7
SALT = "slagov.invitation"
Role = Membership.Role


# --- Who may do what ----------------------------------------------------------------------


def may_invite(membership: Membership) -> bool:
    """Admins invite anyone; a vendor lead invites colleagues of their vendor."""
    return membership.is_admin or (membership.is_vendor and membership.vendor_lead)


def _require_inviter(inviter: Membership, role: str, vendor) -> None:
    if inviter.is_admin:
        return
    if inviter.is_vendor and inviter.vendor_lead:
        if role != Role.VENDOR or vendor is None or vendor.pk != inviter.vendor_id:
            raise PermissionDenied("A vendor lead invites colleagues of their own vendor only.")
        return
    raise PermissionDenied("Only organisation admins and vendor leads invite people.")


def _role_problems(organization, role: str, vendor) -> dict[str, str]:
    if role not in Role.values:
        return {"role": "Choose a role."}
    if role == Role.VENDOR and vendor is None:
        return {"vendor": "A vendor user belongs to a vendor: choose one."}
    if role != Role.VENDOR and vendor is not None:
        return {"vendor": "Only vendor users belong to a vendor."}
    if vendor is not None and vendor.organization_id != organization.pk:
        raise ValueError("vendor of another organisation")
    return {}


# --- Invitations --------------------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    """The link's token: the invitation and its current nonce, signed."""
    return signing.dumps([invitation.pk, invitation.nonce], salt=SALT, compress=True)


@dataclass(frozen=True)
class Found:
    invitation: Invitation | None
    problem: str = ""


def invitation_for_token(token: str, *, now=None) -> Found:
    """The pending invitation a link names, or why the link no longer works."""
    now = now or timezone.now()
    try:
        pk, nonce = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return Found(None, "This invitation link is not valid: check it was copied whole.")
    invitation = (
        Invitation.objects.select_related("organization", "vendor", "invited_by")
        .filter(pk=pk)
        .first()
    )
    if invitation is None or invitation.nonce != nonce:
        return Found(
            None,
            "This invitation link is no longer valid: a newer one was sent, or it was "
            "withdrawn. Ask whoever invited you to send it again.",
        )
    if invitation.state == Invitation.State.ACCEPTED:
        return Found(invitation, "This invitation was already accepted: sign in.")
    if invitation.state == Invitation.State.REVOKED:
        return Found(invitation, "This invitation was withdrawn. Ask whoever invited you.")
    if invitation.expires_at <= now:
        return Found(invitation, "This invitation has expired. Ask whoever invited you to send "
                                 "it again.")  # fmt: skip
    return Found(invitation)


def _queue_invitation_mail(invitation: Invitation) -> None:
    from escalations import notify
    from escalations.models import Notification

    Notification.objects.create(
        organization=invitation.organization, kind=Notification.Kind.MEMBER_INVITE,
        key=f"invite-{invitation.pk}-{invitation.sends}", email=invitation.email,
        payload={"invitation": invitation.pk, "nonce": invitation.nonce},
        next_attempt_at=timezone.now(),
    )  # fmt: skip
    notify.send_after_commit()


@transaction.atomic
def invitation_create(
    *, organization: Organization, inviter: Membership, email: str, role: str, vendor=None
) -> Invitation:
    """
    Invite `email` with `role` (and `vendor`). Refused: a current member, a pending
    invitation for the same address (resend that one), a role the inviter may not give.
    """
    if inviter.organization_id != organization.pk:
        raise ValueError("inviter of another organisation")
    email = (email or "").strip()
    if problems := _role_problems(organization, role, vendor):
        raise ValidationError(problems)
    _require_inviter(inviter, role, vendor)
    members = Membership.objects.filter(organization=organization, user__email__iexact=email)
    pending = Invitation.objects.filter(
        organization=organization, email__iexact=email, state=Invitation.State.PENDING
    )
    if not inviter.is_admin and (members.exists() or pending.exists()):
        # A vendor lead learns nothing about the organisation's other people.
        raise ValidationError({"email": "This address can't be invited: ask an admin."})
    if members.filter(is_active=True).exists():
        raise ValidationError({"email": "This address belongs to a member already."})
    if members.exists():
        raise ValidationError(
            {"email": "This address belongs to a deactivated member: reactivate them instead."}
        )
    if pending.exists():
        raise ValidationError(
            {"email": "An invitation to this address is pending: resend or withdraw it."}
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                organization=organization, email=email, role=role, vendor=vendor,
                invited_by=inviter.user, sent_at=now,
                expires_at=now + timedelta(days=INVITATION_DAYS),
            )  # fmt: skip
    except IntegrityError:  # a double click: the other request made it
        raise ValidationError(
            {"email": "An invitation to this address is pending: resend or withdraw it."}
        ) from None
    _queue_invitation_mail(invitation)
    said = invitation.get_role_display() + (f" of {vendor.name}" if vendor else "")
    audit(organization, inviter.user, "invitation sent", invitation, said)
    return invitation


def _pending_for(organization, invitation_id: int, actor_membership: Membership) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(
        organization=organization, pk=invitation_id
    )
    _require_inviter(actor_membership, invitation.role, invitation.vendor)
    return invitation


@transaction.atomic
def invitation_resend(
    *, organization: Organization, actor: Membership, invitation: Invitation
) -> Invitation:
    """A new link (the old one stops working), valid for another 7 days."""
    invitation = _pending_for(organization, invitation.pk, actor)
    if invitation.state != Invitation.State.PENDING:
        raise ValidationError(f"This invitation is {invitation.get_state_display().lower()}.")
    now = timezone.now()
    invitation.nonce = Invitation._meta.get_field("nonce").default()
    invitation.sends += 1
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=INVITATION_DAYS)
    invitation.save(update_fields=["nonce", "sends", "sent_at", "expires_at"])
    _cancel_unsent(invitation, "replaced by a newer link before it was sent")
    _queue_invitation_mail(invitation)
    audit(organization, actor.user, "invitation resent", invitation)
    return invitation


@transaction.atomic
def invitation_revoke(
    *, organization: Organization, actor: Membership, invitation: Invitation
) -> Invitation:
    invitation = _pending_for(organization, invitation.pk, actor)
    if invitation.state == Invitation.State.ACCEPTED:
        raise ValidationError(
            f"{invitation.email} already accepted this invitation: deactivate the member instead."
        )
    if invitation.state == Invitation.State.PENDING:
        invitation.state = Invitation.State.REVOKED
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["state", "revoked_at"])
        _cancel_unsent(invitation, "withdrawn before it was sent")
        audit(organization, actor.user, "invitation withdrawn", invitation)
    return invitation


def _cancel_unsent(invitation: Invitation, why: str) -> int:
    """Its messages still waiting in the outbox go nowhere (a withdrawn or replaced link)."""
    from escalations.models import Notification

    return Notification.objects.filter(
        organization_id=invitation.organization_id, kind=Notification.Kind.MEMBER_INVITE,
        key__startswith=f"invite-{invitation.pk}-", state=Notification.State.PENDING,
    ).update(state=Notification.State.FAILED, last_error=why)  # fmt: skip


def _free_username(email: str) -> str:
    """The address as the sign-in name, or with a number if that name is taken (one query)."""
    name, stem = email.lower()[:150], email.lower()[:140]
    taken = {
        u.lower()
        for u in get_user_model()
        .objects.filter(username__istartswith=stem)
        .values_list("username", flat=True)
    }
    for candidate in [name, *(f"{stem}-{n}" for n in range(2, 1000))]:
        if candidate not in taken:
            return candidate
    raise ValidationError("No sign-in name is free for this address: ask an admin.")


def is_dormant(user) -> bool:
    """A login that is off and belongs to no organisation any more."""
    return not user.is_active and not user.memberships.filter(is_active=True).exists()


def existing_user(email: str):
    """The login an address already has (the one most recently used), if any."""
    return (
        get_user_model()
        .objects.filter(email__iexact=email.strip())
        .order_by("-last_login", "-pk")
        .first()
    )


@transaction.atomic
def invitation_accept(*, token: str, user=None, new_user: dict | None = None) -> Membership:
    """
    Accept with the signed-in `user` (whose e-mail must be the invited one) or by
    creating a login from `new_user` (first_name, last_name, password). Single use:
    the invitation is locked, checked and ended in one transaction.
    """
    found = invitation_for_token(token)
    if found.problem:
        raise ValidationError(found.problem)
    invitation = Invitation.objects.select_for_update().get(pk=found.invitation.pk)
    if invitation.state != Invitation.State.PENDING or invitation.nonce != found.invitation.nonce:
        raise ValidationError("This invitation was already used.")
    dormant = existing_user(invitation.email) if user is None else None
    if dormant is not None and is_dormant(dormant):
        # A login switched off when its last membership ended: the link proves the
        # address, as a password reset would; a new password brings it back.
        dormant.set_password(new_user["password"])
        dormant.is_active = True
        dormant.save(update_fields=["password", "is_active"])
        user = dormant
    if user is None:
        if existing_user(invitation.email) is not None:
            raise ValidationError("This address has a slagov login already: sign in to accept.")
        user = get_user_model()(
            username=_free_username(invitation.email), email=invitation.email,
            first_name=new_user["first_name"], last_name=new_user["last_name"],
        )  # fmt: skip
        user.set_password(new_user["password"])
        user.save()
    elif (user.email or "").strip().lower() != invitation.email.strip().lower():
        raise ValidationError(
            f"This invitation is for {invitation.email}; you are signed in as another person."
        )
    membership, created = Membership.objects.get_or_create(
        organization=invitation.organization, user=user,
        defaults={"role": invitation.role, "vendor": invitation.vendor},
    )  # fmt: skip
    if not created and not membership.is_active:
        membership.is_active = True
        membership.deactivated_at = None
        membership.role, membership.vendor = invitation.role, invitation.vendor
        membership.monthly_report = membership.monthly_report and invitation.role != Role.VENDOR
        membership._history_user = user
        membership.save()
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    from slagov.accounts import address_verified

    address_verified(user, invitation.email)  # the link proved the address is theirs
    now = timezone.now()
    invitation.state = Invitation.State.ACCEPTED
    invitation.accepted_at, invitation.accepted_by = now, user
    invitation.save(update_fields=["state", "accepted_at", "accepted_by"])
    audit(invitation.organization, user, "invitation accepted", invitation)
    return membership


# --- Members ------------------------------------------------------------------------------


def _active_admins(organization) -> int:
    """The active admins, their rows locked: two admins removing each other wait in turn."""
    return len(
        Membership.objects.select_for_update()
        .filter(organization=organization, role=Role.ADMIN, is_active=True, user__is_active=True)
        .values_list("pk", flat=True)
    )


def _require_admin(actor: Membership, organization) -> None:
    """As stored now (not as the request loaded it): an admin deactivated meanwhile can't act."""
    current = (
        Membership.objects.filter(pk=actor.pk, organization=organization)
        .values_list("role", "is_active", "user__is_active")
        .first()
    )
    if current != (Role.ADMIN, True, True):
        raise PermissionDenied("Only organisation admins manage members.")


@transaction.atomic
def member_change(
    *, organization: Organization, actor: Membership, membership: Membership,
    role: str, vendor=None, vendor_lead: bool = False,
) -> Membership:  # fmt: skip
    """A new role (and vendor). The organisation always keeps an active admin."""
    _require_admin(actor, organization)
    membership = Membership.objects.select_for_update().get(
        organization=organization, pk=membership.pk
    )
    if problems := _role_problems(organization, role, vendor):
        raise ValidationError(problems)
    if (
        membership.role == Role.ADMIN
        and role != Role.ADMIN
        and membership.is_active
        and _active_admins(organization) <= 1
    ):
        raise ValidationError({"role": "The organisation's last admin stays an admin."})
    membership.role, membership.vendor = role, vendor
    membership.vendor_lead = bool(vendor_lead) and role == Role.VENDOR
    # The monthly report is for the customer side: a vendor user doesn't keep it.
    membership.monthly_report = membership.monthly_report and role != Role.VENDOR
    membership._history_user = actor.user
    membership.save(update_fields=["role", "vendor", "vendor_lead", "monthly_report"])
    return membership


@dataclass(frozen=True)
class Handover:
    """What a deactivated member leaves behind: to give to someone else."""

    contracts: list
    action_items: list


def handover(membership: Membership) -> Handover:
    from contracts.models import Contract
    from reviews.actions import OPEN_STATES
    from reviews.models import ActionItem

    user_id = membership.user_id
    contracts = list(
        Contract.objects.filter(organization_id=membership.organization_id, owner_id=user_id)
        .select_related("vendor")
        .order_by("reference")
    )
    items = list(
        ActionItem.objects.filter(organization_id=membership.organization_id, owner_id=user_id)
        .filter(state__in=OPEN_STATES)
        .select_related("contract")
        .order_by("due_date", "pk")
    )
    return Handover(contracts, items)


@transaction.atomic
def member_deactivate(
    *, organization: Organization, actor: Membership, membership: Membership
) -> Membership:
    """
    At once: the membership stops working (its pages are a 404, its tokens are
    revoked and answer 401), and it drops out of every recipient list. A person
    with no other active membership has their login disabled, which ends their
    sessions. The organisation always keeps an active admin.
    """
    _require_admin(actor, organization)
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .get(organization=organization, pk=membership.pk)
    )
    if not membership.is_active:
        return membership
    if membership.role == Role.ADMIN and _active_admins(organization) <= 1:
        raise ValidationError("The organisation's last admin can't be deactivated.")
    now = timezone.now()
    membership.is_active = False
    membership.deactivated_at = now
    membership._history_user = actor.user
    membership.save(update_fields=["is_active", "deactivated_at"])
    revoked = ApiToken.objects.filter(membership=membership, revoked_at__isnull=True).update(
        revoked_at=now
    )
    if membership.is_vendor:
        # What a departing vendor lead sent stops letting people in with them.
        for sent in Invitation.objects.filter(
            organization=organization, invited_by=membership.user_id,
            state=Invitation.State.PENDING,
        ):  # fmt: skip
            sent.state, sent.revoked_at = Invitation.State.REVOKED, now
            sent.save(update_fields=["state", "revoked_at"])
            _cancel_unsent(sent, "its sender was deactivated")
            audit(organization, actor.user, "invitation withdrawn", sent,
                  "its sender was deactivated")  # fmt: skip
    user = membership.user
    if not Membership.objects.filter(user=user, is_active=True).exists() and user.is_active:
        user.is_active = False  # its sessions end with it
        user.save(update_fields=["is_active"])
    audit(organization, actor.user, "member deactivated", membership,
          f"{revoked} API token{'s' if revoked != 1 else ''} revoked")  # fmt: skip
    return membership


@transaction.atomic
def member_reactivate(
    *, organization: Organization, actor: Membership, membership: Membership
) -> Membership:
    """Back in: the membership works again (revoked tokens stay revoked)."""
    _require_admin(actor, organization)
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .get(organization=organization, pk=membership.pk)
    )
    if membership.is_active:
        return membership
    membership.is_active = True
    membership.deactivated_at = None
    membership._history_user = actor.user
    membership.save(update_fields=["is_active", "deactivated_at"])
    if not membership.user.is_active:
        membership.user.is_active = True
        membership.user.save(update_fields=["is_active"])
    audit(organization, actor.user, "member reactivated", membership)
    return membership


@transaction.atomic
def handover_apply(*, tenant, membership: Membership, to: Membership) -> tuple[int, int, int]:
    """
    Give a member's contracts and open action items to another active member
    (each item through `reviews.actions.action_item_update`, so its history says
    so). Returns (contracts, items moved, items the new owner can't own).
    """
    from reviews.actions import action_item_update

    organization, actor = tenant.organization, tenant.membership
    _require_admin(actor, organization)
    if to.organization_id != organization.pk or not to.is_active or to.pk == membership.pk:
        raise ValidationError({"to": "Choose another active member."})
    found = handover(membership)
    if found.contracts and not to.can_manage:
        raise ValidationError({"to": "Contracts go to an account manager or an admin."})
    for contract in found.contracts:
        contract.owner = to.user
        contract._history_user = actor.user
        contract.save(update_fields=["owner"])
    moved = refused = 0
    for item in found.action_items:
        try:
            with transaction.atomic():
                action_item_update(item=item, actor=actor.user, tenant=tenant, owner=to.user)
            moved += 1
        except ValidationError:  # e.g. a vendor user for another vendor's contract
            refused += 1
    audit(organization, actor.user, "handed over", membership,
          f"{len(found.contracts)} contracts and {moved} action items to {to.user}")  # fmt: skip
    return len(found.contracts), moved, refused
