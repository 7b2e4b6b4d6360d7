"""
Vendor early warnings: a risk a vendor user raises on an SLA of their
vendor's contract before the numbers show it. Data is for improvement, not a
weapon: a warning is answered, not held against the vendor, and when the SLA
does breach later the warning is kept as raised so many periods ahead.

States (the model's docstring): open → acknowledged (the customer side
answers) → closed; the customer side's managers and the vendor's users close.

Writes are keyword-only, take the actor and the tenant explicitly and run in
one transaction; reads go through the scoped managers (another vendor's or
another organisation's warning is a 404).
"""

from __future__ import annotations

import secrets
import statistics
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Case, DateField, OuterRef, QuerySet, Subquery, When
from django.db.models.functions import Greatest, TruncMonth, TruncWeek
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.text import get_valid_filename

from contracts import periods
from contracts.models import ServiceLevel
from contracts.rules import Colour
from metrics.models import PeriodStatus
from reviews.models import VendorWarning
from slagov.models import Organization
from slagov.tenancy import Tenant, tenant_scope

State = VendorWarning.State
OPEN_STATES = (State.OPEN, State.ACKNOWLEDGED)

TITLE_MAX = 200
TEXT_MAX = 5000

# --- Attachments: small, of a few kinds, checked by their first bytes too ----------------

ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ZIP = b"PK\x03\x04"
# extension → how such a file begins (None: plain text, checked otherwise)
ATTACHMENT_KINDS: dict[str, bytes | None] = {
    ".pdf": b"%PDF-",
    ".png": b"\x89PNG\r\n\x1a\n",
    ".jpg": b"\xff\xd8\xff",
    ".jpeg": b"\xff\xd8\xff",
    ".xlsx": ZIP,
    ".docx": ZIP,
    ".txt": None,
}
ATTACHMENT_HELP = "PDF, PNG, JPG, XLSX, DOCX or TXT, at most 5 MB."


class WarningStateError(Exception):
    """A change the warning's state doesn't allow: said plainly, changes nothing."""


def _extension(name: str) -> str:
    name = name.lower().strip()
    dot = name.rfind(".")
    return name[dot:] if dot >= 0 else ""


def attachment_problem(name: str, size: int, head: bytes) -> str | None:
    """What is wrong with a file offered as an attachment (None: nothing)."""
    ext = _extension(name)
    if ext not in ATTACHMENT_KINDS:
        return (
            f"{name}: attach a PDF, PNG, JPG, XLSX, DOCX or TXT file "
            f"(this is {ext or 'a file without an extension'})."
        )
    if size > ATTACHMENT_MAX_BYTES:
        return f"The file is {size / 1024 / 1024:.1f} MB; the limit is 5 MB."
    if size == 0:
        return "The file is empty."
    magic = ATTACHMENT_KINDS[ext]
    if magic is None:
        if b"\x00" in head:
            return f"{name} is not a text file."
    elif not head.startswith(magic):
        return f"{name} is not a {ext[1:].upper()} file."
    return None


def _attachment_name(original: str) -> str:
    """An unguessable folder, then the file's own (cleaned, shortened) name."""
    ext = _extension(original)
    stem = get_valid_filename(original[: len(original) - len(ext)] or "attachment")[:40]
    return f"{secrets.token_urlsafe(12)}/{stem}{ext}"


def _check_attachment(upload: UploadedFile) -> str | None:
    upload.seek(0)
    head = upload.read(512)
    upload.seek(0)
    return attachment_problem(upload.name or "", upload.size or 0, head)


def attachment_filename(warning: VendorWarning) -> str:
    """The name a download is offered under."""
    return warning.attachment.name.rsplit("/", 1)[-1] if warning.attachment else ""


# --- Rules -------------------------------------------------------------------------------


def period_span(sla: ServiceLevel, today: date) -> tuple[date, date]:
    """
    The periods a warning may name: from the one just ended (its data may not
    be in yet) or the contract's first, to the contract's last.
    """
    contract = sla.contract
    first = max(
        periods.last_closed_period(today, sla.period),
        periods.first_period_of_term(contract.start_date, sla.period),
    )
    return first, periods.period_start(contract.end_date, sla.period)


def _read_period(value, kind: str) -> date:
    if isinstance(value, date):
        return periods.period_start(value, kind)
    return periods.parse_period(value, kind)


def warning_periods(
    sla: ServiceLevel, period_from, period_to, today: date
) -> tuple[date | None, date | None, dict[str, str]]:
    """The periods read the way the SLA counts them (`2026-10`, `2026-W42`, a date), checked."""
    problems: dict[str, str] = {}
    start = end = None
    first, last = period_span(sla, today)
    label = periods.period_label
    span = f"from {label(first, sla.period)} to {label(last, sla.period)}"
    if period_from in (None, ""):
        problems["period_from"] = "Say from which period it will show."
    else:
        try:
            start = _read_period(period_from, sla.period)
        except ValueError as exc:
            problems["period_from"] = str(exc)
        else:
            if not first <= start <= last:
                problems["period_from"] = (
                    f"A warning is about the period just ended or a coming one of the "
                    f"contract: {span}."
                )
    if period_to not in (None, ""):
        try:
            end = _read_period(period_to, sla.period)
        except ValueError as exc:
            problems["period_to"] = str(exc)
        else:
            if start is not None and end < start:
                problems["period_to"] = "The last period comes after the first."
            elif end > last:
                problems["period_to"] = f"A period of the contract: {span}."
    return start, end, problems


def may_close(tenant: Tenant, warning: VendorWarning) -> bool:
    """The customer side's managers, and the users of the warning's vendor."""
    if tenant.can_manage:
        return True
    return tenant.is_vendor and warning.contract.vendor_id == tenant.vendor_id


def may_raise(tenant: Tenant, sla: ServiceLevel) -> bool:
    """A vendor user, on an SLA of their vendor's contract."""
    return tenant.is_vendor and sla.contract.vendor_id == tenant.vendor_id


# --- Writes -------------------------------------------------------------------------------


@transaction.atomic
def warning_raise(
    *, organization: Organization, actor, tenant: Tenant, service_level: ServiceLevel,
    title: str, impact: str, period_from, period_to=None, mitigation: str = "",
    attachment: UploadedFile | None = None, today: date | None = None,
) -> VendorWarning:  # fmt: skip
    """
    A vendor user raises a risk on an SLA of their vendor's contract. The
    periods are read as the SLA counts them; the attachment is checked and
    stored under an unguessable name (served only through the warning's page).
    """
    if not may_raise(tenant, service_level):
        raise PermissionDenied("Only the vendor's users raise early warnings on its SLAs.")
    if service_level.organization_id != organization.pk:
        raise ValidationError({"service_level": "An SLA of this organisation."})
    today = today or timezone.localdate()
    title, impact, mitigation = (
        (title or "").strip(),
        (impact or "").strip(),
        (mitigation or "").strip(),
    )
    problems: dict[str, str] = {}
    if not title:
        problems["title"] = "Say what is at risk, in a line."
    elif len(title) > TITLE_MAX:
        problems["title"] = f"At most {TITLE_MAX} characters."
    if not impact:
        problems["impact"] = "Say what it will do to the service."
    for field, text in (("impact", impact), ("mitigation", mitigation)):
        if len(text) > TEXT_MAX:
            problems[field] = f"At most {TEXT_MAX} characters."
    start, end, period_problems = warning_periods(service_level, period_from, period_to, today)
    problems.update(period_problems)
    if attachment is not None and (problem := _check_attachment(attachment)):
        problems["attachment"] = problem
    if problems:
        raise ValidationError(problems)
    warning = VendorWarning(
        organization=organization, contract=service_level.contract, service_level=service_level,
        title=title, impact=impact, period_from=start, period_to=end, mitigation=mitigation,
        raised_by=actor, raised_at=timezone.now(),
    )  # fmt: skip
    if attachment is not None:
        warning.attachment.save(_attachment_name(attachment.name), attachment, save=False)
    warning.save()
    return warning


@transaction.atomic
def warning_acknowledge(*, warning: VendorWarning, actor, tenant: Tenant, answer: str) -> bool:
    """
    The customer side has read it and answers (admins and account managers).
    False when it was already acknowledged (a double submit changes nothing);
    WarningStateError once it is closed.
    """
    if not tenant.can_manage:
        raise PermissionDenied("Only admins and account managers acknowledge a vendor's warning.")
    answer = (answer or "").strip()
    if not answer:
        raise ValidationError({"answer": "Answer the vendor: what will you do with it?"})
    if len(answer) > TEXT_MAX:
        raise ValidationError({"answer": f"At most {TEXT_MAX} characters."})
    now = timezone.now()
    claimed = VendorWarning.objects.filter(pk=warning.pk, state=State.OPEN).update(
        state=State.ACKNOWLEDGED, acknowledged_by=actor, acknowledged_at=now, answer=answer
    )
    warning.refresh_from_db(fields=["state", "acknowledged_by", "acknowledged_at", "answer"])
    if not claimed and warning.state == State.CLOSED:
        raise WarningStateError("This warning is closed: it can't be acknowledged any more.")
    return bool(claimed)


@transaction.atomic
def warning_close(*, warning: VendorWarning, actor, tenant: Tenant) -> bool:
    """
    The risk has passed or become something else (the customer side's managers,
    or the vendor's users). False when it was already closed.
    """
    if not may_close(tenant, warning):
        raise PermissionDenied(
            "Only admins, account managers and the vendor's users close a warning."
        )
    claimed = VendorWarning.objects.filter(pk=warning.pk, state__in=OPEN_STATES).update(
        state=State.CLOSED, closed_at=timezone.now(), closed_by=actor
    )
    warning.refresh_from_db(fields=["state", "closed_at", "closed_by"])
    return bool(claimed)


def warnings_note_breaches(
    *, organization_id: int, service_level_ids: list[int], today: date
) -> int:
    """
    Keep, for each open or acknowledged warning on these SLAs that has no
    breach yet, the first red period at or after both its first period and the
    period it was raised in (a breach already known when it was raised is not
    one it foretold), and how many periods ahead of that breach it was raised.
    Idempotent: a noted breach stays. One query, two when something breached.
    Returns how many warnings were noted.
    """
    if not service_level_ids:
        return 0
    with tenant_scope(organization_id):
        raised_in = Case(
            When(service_level__period=periods.Period.WEEKLY,
                 then=TruncWeek("raised_at", output_field=DateField())),
            default=TruncMonth("raised_at", output_field=DateField()),
            output_field=DateField(),
        )  # fmt: skip
        first_red = (
            PeriodStatus.objects.filter(
                organization_id=organization_id,
                service_level_id=OuterRef("service_level_id"),
                colour=Colour.RED,
                period_start__gte=OuterRef("from_period"),
                # Never a row past the calendar the engine reads (see periods.readable_span).
                period_start__lte=periods.readable_bounds(today)[1],
            )
            .order_by("period_start")
            .values("period_start")[:1]
        )
        found = list(
            VendorWarning.objects.filter(
                organization_id=organization_id,
                service_level_id__in=service_level_ids,
                state__in=OPEN_STATES,
                breached_period__isnull=True,
            )
            .annotate(
                raised_period=raised_in,
                from_period=Greatest("period_from", raised_in, output_field=DateField()),
            )
            .annotate(first_red=Subquery(first_red, output_field=DateField()))
            .filter(first_red__isnull=False)
            .select_related("service_level")
            .only("pk", "service_level__period", "period_from", "raised_at")
        )
        for warning in found:
            warning.breached_period = warning.first_red
            warning.periods_ahead = periods.periods_between(
                warning.raised_period, warning.first_red, warning.service_level.period
            )
        if found:
            VendorWarning.objects.bulk_update(found, ["breached_period", "periods_ahead"])
    return len(found)


# --- Reads (in the request's scope) -------------------------------------------------------


def warnings_all() -> QuerySet[VendorWarning]:
    return VendorWarning.objects.select_related(
        "contract__vendor", "service_level", "raised_by", "acknowledged_by"
    )


def warning_get(tenant: Tenant, warning_id: int) -> VendorWarning:
    """One warning the member may see, else 404."""
    return get_object_or_404(warnings_all(), pk=warning_id)


def warnings_listed(*, state: str = "open", contract=None) -> QuerySet[VendorWarning]:
    """Open and acknowledged ones first, newest first. `state`: "open", "closed" or "all"."""
    rows = warnings_all()
    if contract is not None:
        rows = rows.filter(contract=contract)
    if state == "open":
        rows = rows.filter(state__in=OPEN_STATES)
    elif state == "closed":
        rows = rows.filter(state=State.CLOSED)
    closed_last = Case(When(state=State.CLOSED, then=1), default=0)
    return rows.order_by(closed_last, "-raised_at", "-pk")


def open_warnings(
    *, contract=None, service_level=None, contract_ids: list[int] | None = None,
    limit: int | None = None,
) -> list[VendorWarning]:  # fmt: skip
    """Open and acknowledged warnings of a contract, an SLA or some contracts, newest first."""
    rows = warnings_all().filter(state__in=OPEN_STATES)
    if contract is not None:
        rows = rows.filter(contract=contract)
    if contract_ids is not None:
        rows = rows.filter(contract_id__in=contract_ids)
    if service_level is not None:
        rows = rows.filter(service_level=service_level)
    rows = rows.order_by("-raised_at", "-pk")
    return list(rows[:limit] if limit else rows)


@dataclass(frozen=True)
class VendorNotice:
    """How much notice a vendor gives: warnings raised, how many came ahead of a breach."""

    vendor_id: int
    vendor: str
    raised: int
    ahead: int
    median_ahead: float | None


def warning_honesty(organization: Organization) -> list[VendorNotice]:
    """Per vendor (in the scope): warnings raised, how many ahead of a breach, median periods."""
    by_vendor: dict[int, tuple[str, list[int | None]]] = {}
    rows = VendorWarning.objects.filter(organization=organization).values_list(
        "contract__vendor_id", "contract__vendor__name", "periods_ahead", "breached_period"
    )
    for vendor_id, name, ahead, breached in rows:
        entry = by_vendor.setdefault(vendor_id, (name, []))
        entry[1].append(ahead if breached is not None else None)
    notices = []
    for vendor_id, (name, aheads) in by_vendor.items():
        kept = [a for a in aheads if a is not None]
        notices.append(
            VendorNotice(
                vendor_id=vendor_id, vendor=name, raised=len(aheads), ahead=len(kept),
                median_ahead=statistics.median(kept) if kept else None,
            )
        )  # fmt: skip
    return sorted(notices, key=lambda n: n.vendor.lower())
