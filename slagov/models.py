"""
Tenancy: organisations (tenants), memberships, invitations, API tokens and
the audit log of what has no history of its own.

These models are the machinery that decides visibility, so they are
read without a tenant scope; every other tenant-owned model uses a
django-scopes manager and can't be queried outside a scope.
"""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Now
from simple_history.models import HistoricalRecords

from contracts import bounds


def new_nonce() -> str:
    return secrets.token_hex(16)


class Organization(models.Model):
    """A customer organisation: the tenant. Nothing of one is visible to another."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    currency = models.CharField(
        max_length=3, default="EUR", help_text="Currency of the compliance threshold."
    )
    compliance_threshold = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("50000"),
        validators=[MinValueValidator(0)],
        help_text="Contracts with a lower annual value are recommended for compliance mode.",
    )

    class MfaRequired(models.TextChoices):
        NOBODY = "nobody", "Nobody (each person may still turn it on)"
        ADMINS = "admins", "Admins and leadership"
        ALL = "all", "Everyone"

    mfa_required = models.CharField(
        "two-factor sign-in required of",
        max_length=8,
        choices=MfaRequired.choices,
        default=MfaRequired.NOBODY,
        help_text="Who must sign in with an authenticator app; they are asked to set one up "
        "at their next sign-in.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.compliance_threshold is not None and (
            problem := bounds.amount_problem(self.compliance_threshold, "The compliance threshold")
        ):
            raise ValidationError({"compliance_threshold": problem})


class Membership(models.Model):
    """
    A user's place in one organisation. A person may hold memberships in
    several organisations (a vendor serving several customers has one login).
    A vendor membership names its vendor and sees only that vendor's data.
    """

    class Role(models.TextChoices):
        ADMIN = "admin", "Organisation admin"
        ACCOUNT_MANAGER = "account_manager", "Account manager"
        LEADERSHIP = "leadership", "Leadership"
        VENDOR = "vendor", "Vendor user"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    vendor = models.ForeignKey(
        "contracts.Vendor",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
        help_text="Required for vendor users; empty for everyone else.",
    )

    class Delivery(models.TextChoices):
        IMMEDIATE = "immediate", "As they happen"
        DIGEST = "digest", "In a daily digest"

    title = models.CharField(max_length=120, blank=True)
    escalation_delivery = models.CharField(
        max_length=9,
        choices=Delivery.choices,
        default=Delivery.IMMEDIATE,
        help_text="Early warnings and level 1 escalations: at once, or once a day.",
    )
    monthly_report = models.BooleanField(
        "monthly report by e-mail",
        default=False,
        help_text="The organisation's monthly leadership report, on the 1st of each month. "
        "Customer-side members only.",
    )
    is_active = models.BooleanField(default=True)
    vendor_lead = models.BooleanField(
        "vendor lead",
        default=False,
        help_text="A vendor user who may invite colleagues of the same vendor (as vendor users).",
    )
    deactivated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["organization", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="membership_one_per_user_and_org"
            ),
            models.CheckConstraint(
                condition=(Q(role="vendor") & Q(vendor__isnull=False))
                | (~Q(role="vendor") & Q(vendor__isnull=True)),
                name="membership_vendor_iff_vendor_role",
            ),
            # The monthly report is the customer's own reading: no vendor user receives it.
            models.CheckConstraint(
                condition=~Q(role="vendor") | Q(monthly_report=False),
                name="membership_report_customer_side",
            ),
        ]
        indexes = [
            # Tenant resolution: the user's active memberships (org switcher, every request).
            models.Index(fields=["user", "is_active"], name="membership_user_active"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.get_role_display()})"

    @property
    def is_vendor(self) -> bool:
        return self.role == self.Role.VENDOR

    @property
    def can_manage(self) -> bool:
        """Admins and account managers create and edit vendors, contracts and SLAs."""
        return self.role in {self.Role.ADMIN, self.Role.ACCOUNT_MANAGER}

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class ApiToken(models.Model):
    """
    An API key bound to one membership. Only a SHA-256 of the key is stored;
    the key itself is shown once, when it is created. Revoked tokens stay for
    the record but no longer authenticate.
    """

    PREFIX = "slg_"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    key_prefix = models.CharField(max_length=16, help_text="First characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Token list on the membership's page.
            models.Index(fields=["organization", "membership"], name="apitoken_org_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        # Keys carry 256 bits of randomness, so a plain digest is enough
        # (no salt or stretching needed, unlike passwords).
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def generate_key(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)


class Invitation(models.Model):
    """
    An invitation to join an organisation with a role (and a vendor, for a
    vendor user). The link carries a signed token naming the invitation and its
    `nonce`; resending makes a new nonce (older links stop working), accepting
    or revoking ends it, and it expires at `expires_at`.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Membership.Role.choices)
    vendor = models.ForeignKey(
        "contracts.Vendor", null=True, blank=True, on_delete=models.CASCADE,
        related_name="invitations",
    )  # fmt: skip
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    nonce = models.CharField(max_length=32, default=new_nonce)
    sends = models.PositiveSmallIntegerField(default=1)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One pending invitation per address and organisation (a second is a resend).
            models.UniqueConstraint(
                "organization", Lower("email"), condition=Q(state="pending"),
                name="invitation_one_pending_per_address",
            ),
            models.CheckConstraint(
                condition=(Q(role="vendor") & Q(vendor__isnull=False))
                | (~Q(role="vendor") & Q(vendor__isnull=True)),
                name="invitation_vendor_iff_vendor_role",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.email} → {self.organization} ({self.get_role_display()})"


class AuditEvent(models.Model):
    """
    What an organisation's audit log shows that no model history records
    (invitations sent, resent, revoked and accepted; members deactivated and
    reactivated; API tokens created and revoked). Changes to contracts, SLAs,
    terms, policies and memberships are read from their history
    (simple-history) instead: `slagov.audit` merges both.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["organization", "-at"], name="auditevent_org_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"


class PendingWork(models.Model):
    """
    Follow-up work, written in the same transaction as the change that needs
    it (a status recompute after new readings, the escalation rules after a
    recompute). A worker is asked once the transaction commits; if that ask is
    lost (the broker unreachable, the worker killed), `run_after` passes and
    the sweeper asks again. The row is deleted when the work is done.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    arguments = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    run_after = models.DateTimeField(help_text="Asked again by the sweeper from this time on.")
    attempts = models.PositiveSmallIntegerField(default=0)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["run_after"], name="pendingwork_due", condition=Q(failed_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.organization_id})"


class ChangeMark(models.Model):
    """
    One row for each statement that wrote what an organisation's derived pages
    read (governance health: reviews, action items, escalations, warnings,
    SLAs, readings, memberships, contracts, the owners' names), appended by
    statement-level triggers on PostgreSQL (migration 0007), so bulk writes
    (`COPY`, `UPDATE … RETURNING`, raw SQL) move it as well as the ORM does.

    Insert-only: concurrent writers never wait on one another, as they would
    on a shared counter row. `reviews.health_cache` reads (count, max id) of an
    organisation's rows as the stamp of what it cached; the count also moves
    when a transaction with a lower id commits late. Old rows are pruned
    (`prune_change_marks`), the newest of each organisation kept.
    """

    id = models.BigAutoField(primary_key=True)
    # No foreign key: deleting an organisation deletes its rows in other tables,
    # and those statements log the organisation too.
    organization_id = models.BigIntegerField()
    at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [
            # The stamp: count(*), max(id) WHERE organization_id = %s (index only).
            models.Index(fields=["organization_id", "id"], name="changemark_stamp"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} #{self.pk}"
