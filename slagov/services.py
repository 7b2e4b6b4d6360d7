"""Writes for tenancy: API tokens, a member's own preferences."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from slagov.audit import record
from slagov.models import ApiToken, Membership, Organization


@transaction.atomic
def api_token_create(
    *, organization: Organization, actor, membership: Membership, name: str
) -> tuple[ApiToken, str]:
    """Create a token for one membership. The key is returned once and never stored."""
    if membership.organization_id != organization.pk:
        raise ValueError("membership of another organisation")
    key = ApiToken.generate_key()
    token = ApiToken.objects.create(
        organization=organization,
        membership=membership,
        name=name,
        key_prefix=key[:10],
        key_hash=ApiToken.hash_key(key),
        created_by=actor,
    )
    record(organization, actor, "token created", token, f"for {membership.user}")
    return token, key


@transaction.atomic
def api_token_revoke(*, organization: Organization, actor, token: ApiToken) -> None:
    if token.organization_id != organization.pk:
        raise ValueError("token of another organisation")
    if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    ):
        record(organization, actor, "token revoked", token, f"for {token.membership.user}")


PREFERENCES = ("escalation_delivery", "title", "monthly_report")


@transaction.atomic
def membership_preferences_save(*, membership: Membership, actor, data: dict) -> Membership:
    """
    A member's own settings: how escalations reach them, their title, and
    whether the monthly report comes to them (customer side only: it is the
    customer's own reading of its vendors). The change is in the membership's
    history, with the member as its author.
    """
    if membership.user_id != actor.pk:
        raise ValueError("members change their own preferences only")
    if data.get("monthly_report") and membership.is_vendor:
        raise ValidationError(
            {"monthly_report": "The monthly report is for the customer side: vendor users "
             "can't receive it."}
        )  # fmt: skip
    for field in PREFERENCES:
        if field in data:
            setattr(membership, field, data[field])
    membership._history_user = actor
    membership.save(update_fields=list(PREFERENCES))
    return membership
