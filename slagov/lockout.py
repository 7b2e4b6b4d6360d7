"""
Log-in lock-out: two locks, both over the cool-off window (AXES_COOLOFF_TIME).

- a username from one address: AXES_FAILURE_LIMIT failures (django-axes' own lock,
  AXES_LOCKOUT_PARAMETERS);
- an address, across every username: AXES_IP_FAILURE_LIMIT failures, higher, so
  that colleagues behind one office address don't lock each other out, while one
  address can't try a few passwords against every account.

Behind the TLS proxy every request comes from the proxy's address, which would
make the second lock one lock for everybody: there the client is the address the
proxy appended to X-Forwarded-For (the right-most; anything left of it is what the
client sent, and can be forged).
"""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Sum


def username_of(request, credentials: dict | None = None) -> str | None:
    """
    The name a failure counts against: what was typed in the sign-in form's
    `login` field (a username or an e-mail address), as the backends were given it.
    """
    credentials = credentials or {}
    for key in ("username", "email", "login"):
        if credentials.get(key):
            return str(credentials[key]).strip().lower()
    posted = getattr(request, "POST", None) or {}
    return (posted.get("login") or posted.get("username") or "").strip().lower() or None


def client_ip(request) -> str | None:
    """The address lock-outs count against (AXES_CLIENT_IP_CALLABLE)."""
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR")


class LockoutHandler(AxesDatabaseHandler):
    def address_failures(self, request) -> int:
        """Failures from the request's address within the cool-off window, any username."""
        attempts = AccessAttempt.objects.filter(ip_address=request.axes_ip_address)
        if settings.AXES_COOLOFF_TIME is not None:
            attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
        return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0

    def address_locked(self, request) -> bool:
        return self.address_failures(request) >= settings.AXES_IP_FAILURE_LIMIT

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        return super().is_locked(request, credentials) or (
            settings.AXES_LOCK_OUT_AT_FAILURE and self.address_locked(request)
        )

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is None or getattr(request, "axes_locked_out", False):
            return
        if self.is_whitelisted(request, credentials):
            return
        if settings.AXES_LOCK_OUT_AT_FAILURE and self.address_locked(request):
            # The failure that reaches the limit already answers with the lock-out page.
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
            )
