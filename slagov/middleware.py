"""Response headers that depend on who asked."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class PrivateCacheMiddleware:
    """
    Nothing shown to a signed-in member is kept by a shared cache or on disk:
    `Cache-Control: private, no-store` on every response to an authenticated
    user (a session or an API token; DRF sets `request.user` for token users
    before the response comes back here). Static files never reach this
    middleware: WhiteNoise, earlier in the chain, answers them with their own
    long-lived headers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # patch_cache_control drops a "public" set by a view when "private" is added.
            patch_cache_control(response, private=True, no_store=True)
        return response
