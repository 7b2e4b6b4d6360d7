"""
The browsable API, tenant-aware: its forms are built only once the request's
organisation is resolved (and so inside its scope). A request refused before
that (no such organisation, not signed in) shows the error without forms.
"""

from __future__ import annotations

from rest_framework.renderers import BrowsableAPIRenderer


class TenantBrowsableAPIRenderer(BrowsableAPIRenderer):
    def show_form_for_method(self, view, method, request, obj):
        if getattr(view, "tenant", None) is None and "org_slug" in getattr(view, "kwargs", {}):
            return False
        return super().show_form_for_method(view, method, request, obj)
