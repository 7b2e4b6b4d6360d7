"""The invitation to join an organisation, as the outbox sends it."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse

from escalations import notify
from escalations.models import Notification
from slagov import formatting
from slagov.emails import brand
from slagov.members import invitation_token
from slagov.models import Invitation


@notify.renderer(Notification.Kind.MEMBER_INVITE)
def render_member_invite(notification: Notification) -> EmailMessage:
    """
    The link is made from the invitation as queued (`payload`: its id and nonce):
    a resend queues a new message with the new nonce, so an old message, sent late,
    carries the old link, which then says it was replaced.
    """
    invitation = Invitation.objects.select_related("organization", "vendor", "invited_by").get(
        pk=notification.payload["invitation"]
    )
    queued = Invitation(pk=invitation.pk, nonce=notification.payload["nonce"])
    inviter = invitation.invited_by
    context = {
        "invitation": invitation,
        "inviter": (inviter.get_full_name() or inviter.get_username()) if inviter else "",
        "role": invitation.get_role_display(),
        "vendor": invitation.vendor.name if invitation.vendor else "",
        "expires": formatting.moment(invitation.expires_at),
        "url": settings.SITE_URL
        + reverse("invitation", kwargs={"token": invitation_token(queued)}),
        **brand(invitation.organization, login=True),
    }
    org = invitation.organization.name
    return notify.outbox_email(
        notification, f"[slagov] You are invited to {org}", "email/member_invite", context
    )
