"""
Request rates for API tokens, counted per token in the Django cache (Redis in
production, so every worker shares the count). Past the rate the API answers
429 with `Retry-After`. Rates come from settings (API_THROTTLE_READ and
API_THROTTLE_WRITE); requests from a signed-in browser session are not counted
here (the pages have their own login lock-out).
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from slagov.models import ApiToken


class _TokenThrottle(SimpleRateThrottle):
    reads: bool

    def get_rate(self):
        # Read now, not at import: DRF keeps the rates of its own import time.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return None
        if (request.method in SAFE_METHODS) != self.reads:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class TokenReadThrottle(_TokenThrottle):
    """GET, HEAD and OPTIONS per token."""

    scope = "token_read"
    reads = True


class TokenWriteThrottle(_TokenThrottle):
    """Uploads, confirmations and every other write, per token."""

    scope = "token_write"
    reads = False
