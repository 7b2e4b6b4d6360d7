"""
Accounts on django-allauth: no open sign-up (people join by invitation), and
two-factor sign-in that an organisation can require of its admins and leadership,
or of everyone. A person who must enrol is sent to enrol at sign-in, and stays
there until an authenticator app is set up; they can't remove it while required.
"""

from __future__ import annotations

import time

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.shortcuts import redirect
from django.urls import reverse

from slagov.models import Membership, Organization

SESSION_KEY = "slagov_mfa_enrol"
Required = Organization.MfaRequired


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False  # an organisation admin invites people (slagov.members)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Rendered as django-allauth does, then sent through the outbox like every e-mail."""
        from allauth.core import context as allauth_context
        from django.contrib.sites.shortcuts import get_current_site

        from escalations.notify import queue_account_email

        request = allauth_context.request
        full = {"request": request, "email": email, "current_site": get_current_site(request),
                **context}  # fmt: skip
        queue_account_email(self.render_mail(template_prefix, email, full))


def address_verified(user, email: str) -> None:
    """
    `email` is proven to be `user`'s (they followed a link sent to it): django-allauth
    lets a person turn on two-factor sign-in only with every address verified.
    """
    from allauth.account.models import EmailAddress

    email = email.strip()
    address = EmailAddress.objects.filter(user=user, email__iexact=email).first()
    if address is None:
        has_primary = EmailAddress.objects.filter(user=user, primary=True).exists()
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=not has_primary)
    elif not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])


def mfa_required_by(user) -> list[Organization]:
    """The organisations whose rule asks this person for two-factor sign-in."""
    memberships = Membership.objects.filter(
        user=user, is_active=True, organization__mfa_required__in=[Required.ADMINS, Required.ALL]
    ).select_related("organization")
    return [
        m.organization
        for m in memberships
        if m.organization.mfa_required == Required.ALL
        or m.role in (Membership.Role.ADMIN, Membership.Role.LEADERSHIP)
    ]


SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def current_counter() -> int:
    """The TOTP time step now: what an authenticator app shows a code for."""
    from allauth.mfa import app_settings

    return int(time.time()) // app_settings.TOTP_PERIOD


def has_second_factor(user) -> bool:
    """A second factor of their own: an authenticator app or a security key."""
    return Authenticator.objects.filter(user=user, type__in=SECOND_FACTORS).exists()


class MfaAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator) -> bool:
        """The last second factor (app or key) stays while an organisation requires one."""
        if authenticator.type in SECOND_FACTORS and mfa_required_by(authenticator.user):
            others = Authenticator.objects.filter(
                user=authenticator.user, type__in=SECOND_FACTORS
            ).exclude(pk=authenticator.pk)
            if not others.exists():
                return False
        return super().can_delete_authenticator(authenticator)


@receiver(user_logged_in)
def _ask_to_enrol(sender, request, user, **kwargs) -> None:
    ask_to_enrol(request, user)


def ask_to_enrol(request, user) -> None:
    """
    At sign-in (and on joining an organisation): one check, kept in the session (no
    query on later requests).
    """
    if request is None or not hasattr(request, "session"):
        return
    if mfa_required_by(user) and not has_second_factor(user):
        request.session[SESSION_KEY] = True
    else:
        request.session.pop(SESSION_KEY, None)


@receiver(authenticator_added)
def _enrolled(sender, request, user, authenticator, **kwargs) -> None:
    if request is not None and authenticator.type in SECOND_FACTORS:
        request.session.pop(SESSION_KEY, None)


# Paths a person who must enrol can still reach: the enrolment itself (allauth's
# pages), signing out, files and the health check.
OPEN_PREFIXES = ("/accounts/", "/logout/", "/static/", "/healthz/", "/invite/")


class RequireMfaMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if (
            session is not None
            and session.get(SESSION_KEY)
            and request.user.is_authenticated
            and not request.path.startswith(OPEN_PREFIXES)
        ):
            names = ", ".join(o.name for o in mfa_required_by(request.user))
            if not names or has_second_factor(request.user):
                session.pop(SESSION_KEY, None)
            else:
                messages.info(
                    request,
                    f"{names} requires two-factor sign-in: set up an authenticator app to go on.",
                )
                return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
