"""Token authentication (kept apart from views so DRF settings can import it early)."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import authentication, exceptions

from slagov.models import ApiToken


class TokenAuthentication(authentication.BaseAuthentication):
    """
    `Authorization: Token slg_…`. The token is bound to one membership: it
    authenticates its user, and only for that membership's organisation.
    """

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            key = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Malformed token.") from None
        token = (
            ApiToken.objects.select_related("membership__user", "membership__organization")
            .filter(key_hash=ApiToken.hash_key(key), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.membership.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if not token.membership.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive.")
        now = timezone.now()
        # Don't write on every request: a minute's precision is plenty.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.membership.user, token

    def authenticate_header(self, request):
        return self.keyword
