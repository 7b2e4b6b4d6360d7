from slagov.tenancy import memberships_for


def tenant(request):
    """The current tenant, and (lazily) the organisations the user can switch to."""
    current = getattr(request, "tenant", None)
    return {
        "tenant": current,
        "org": current.organization if current else None,
        "switchable_memberships": lambda: memberships_for(request.user),
    }
