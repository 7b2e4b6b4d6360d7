"""
Data-deadline e-mails to vendor contacts: a reminder a few days before a
period's submission deadline while data is missing, and a notice once the data
is late; only for periods from the SLA's data start on. A `DataReminder` row
per contract, period and kind makes each one go out once, however often the
job runs. The messages go through the outbox (escalations.notify), claimed
and queued in one transaction.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from contracts.models import Contract
from contracts.rules import Colour
from contracts.selectors import mailbox, vendor_recipients
from escalations import notify
from escalations.models import Notification
from metrics.engine import deadline
from metrics.models import DataReminder, PeriodStatus
from slagov import formatting
from slagov.emails import brand
from slagov.jobs import JobReport

logger = logging.getLogger(__name__)
REMIND_DAYS_BEFORE = 3
LATE_LOOKBACK_DAYS = 31  # a late notice is news for a month, not forever


def _due(today: date, report: JobReport) -> dict[tuple[int, date, str], dict]:
    """(contract, period, kind) → what is missing, from the stored statuses."""
    found: dict[tuple[int, date, str], dict] = {}
    recent = today - timedelta(days=LATE_LOOKBACK_DAYS + 62)
    # Never a period after the current one: such a row (from before the date
    # rules) has no deadline to speak of, and could be past the calendar's end.
    _, last = periods.readable_bounds(today)
    statuses = (
        PeriodStatus.objects.filter(
            colour__in=[Colour.NO_DATA, Colour.LATE],
            period_start__gte=recent,
            period_start__lte=last,
            reading__isnull=True,
            service_level__is_active=True,
        )
        # Data is owed from the SLA's data start on: nothing to remind of before it.
        .filter(period_start__gte=F("service_level__data_start"))
        .select_related("service_level__contract__organization")
    )
    for status in statuses:
        sla = status.service_level
        contract = sla.contract
        try:
            due = deadline(status.period_start, sla.period, contract.submission_deadline_days)
        except Exception:  # one bad row: logged with its organisation, the others go on
            report.record_failure(contract.organization, f"deadline of {sla.code} {status}")
            continue
        if today > due and (today - due).days <= LATE_LOOKBACK_DAYS:
            kind = DataReminder.Kind.LATE
        elif today <= due and (due - today).days <= REMIND_DAYS_BEFORE:
            kind = DataReminder.Kind.UPCOMING
        else:
            continue
        entry = found.setdefault(
            (contract.pk, status.period_start, kind),
            {"contract": contract, "deadline": due, "missing": [], "kind": sla.period},
        )
        entry["missing"].append(sla.code)
    return found


def _recipients(contract: Contract) -> list[str]:
    """The contract's contacts and the vendor's users (no fallback to all the vendor's)."""
    return sorted(vendor_recipients(contract, all_contacts_if_none=False))


def _queue(contract: Contract, kind: str, items: list[tuple[DataReminder, dict]]) -> None:
    """
    One message per contract and kind, listing every period it covers, queued
    in the outbox for each of the reminders' recipients (in the caller's
    transaction, which also claims the reminders).
    """
    lines = [
        {
            "period": formatting.period(reminder.period_start, entry["kind"]),
            "deadline": reminder.deadline,
            "missing": sorted(entry["missing"]),
        }
        for reminder, entry in sorted(items, key=lambda item: item[0].period_start)
    ]
    url = settings.SITE_URL + reverse("metrics:submissions", args=[contract.organization.slug])
    late = kind == DataReminder.Kind.LATE
    logins = vendor_recipients(contract, all_contacts_if_none=False).values()
    context = {
        "contract": contract, "lines": lines, "late": late, "url": url,
        **brand(contract.organization, owner=contract.owner,
                login=None if None in logins else True),
    }  # fmt: skip
    first = lines[0]
    what = first["period"] if len(lines) == 1 else f"{len(lines)} periods"
    when = formatting.day_month(first["deadline"])
    if late:
        verb = "is" if len(lines) == 1 else "are"
        subject = f"[slagov] Data for {contract.reference} {what} {verb} late (due {when})"
    else:
        verb = "is" if len(lines) == 1 else "are"
        subject = f"[slagov] Data for {contract.reference} {what} {verb} due by {when}"
    payload = notify.rendered_payload(subject, "email/data_reminder", context)
    now = timezone.now()
    key = f"data-{kind}:{min(reminder.pk for reminder, _ in items)}"
    Notification.objects.bulk_create(
        [
            Notification(
                organization_id=contract.organization_id,
                kind=Notification.Kind.DATA_LATE if late else Notification.Kind.DATA_DUE,
                key=key,
                email=mailbox(address),
                payload=payload,
                next_attempt_at=now,
            )
            for address in sorted({mailbox(a) for a in items[0][0].recipients})
        ],
        ignore_conflicts=True,
    )


@scopes_disabled()
def reminders_send(today: date | None = None) -> JobReport:
    """
    Queue what is due today and not yet sent. `done` counts the messages
    queued (one per contract and kind, to each of its recipients). Each is
    claimed and queued in one transaction: a run that dies leaves it to the
    next run, never half-claimed; a failure (logged with its organisation,
    counted in `failed`) costs no other contract its e-mail.
    """
    today = today or timezone.localdate()
    report = JobReport()
    unsent: dict[tuple[int, str], list[tuple[DataReminder, dict]]] = {}
    contracts: dict[int, Contract] = {}
    recipients: dict[int, list[str]] = {}  # per contract, looked up once a run

    def recipients_of(contract: Contract) -> list[str]:
        if contract.pk not in recipients:
            recipients[contract.pk] = _recipients(contract)
        return recipients[contract.pk]

    for (contract_id, period_start, kind), entry in sorted(_due(today, report).items(), key=str):
        contract = contracts.setdefault(contract_id, entry["contract"])
        with report.isolated(contract.organization, f"reminder for {contract} {period_start}"):
            reminder = _unsent(contract, period_start, kind, entry, recipients_of)
            if reminder is not None:
                unsent.setdefault((contract_id, kind), []).append((reminder, entry))
    for (contract_id, kind), items in unsent.items():
        contract = contracts[contract_id]
        with (
            report.isolated(contract.organization, f"queueing data reminders for {contract}"),
            transaction.atomic(),
        ):
            # Claimed here, so that only one run queues them.
            claimed = [
                (reminder, entry)
                for reminder, entry in items
                if DataReminder.objects.filter(pk=reminder.pk, sent_at__isnull=True).update(
                    sent_at=timezone.now()
                )
            ]
            if claimed:
                _queue(contract, kind, claimed)
                notify.send_after_commit()
                report.done += 1
    return report


def _unsent(contract: Contract, period_start: date, kind: str, entry: dict, recipients_of):
    """The reminder row for this contract and period if it is still to send (else None)."""
    try:
        with transaction.atomic():
            reminder, _ = DataReminder.objects.get_or_create(
                organization_id=contract.organization_id,
                contract=contract,
                period_start=period_start,
                kind=kind,
                defaults={"deadline": entry["deadline"], "missing": sorted(entry["missing"]),
                          "recipients": partial(recipients_of, contract)},  # only if new
            )  # fmt: skip
    except IntegrityError:  # created concurrently by another run
        return None
    if reminder.sent_at is not None:
        return None  # sent before
    if not reminder.recipients:
        # Nobody to tell yet: look again next run (a contact may have been added).
        reminder.recipients = recipients_of(contract)
        if not reminder.recipients:
            logger.warning("no vendor contact to remind for %s %s", contract, period_start)
            return None
        DataReminder.objects.filter(pk=reminder.pk).update(recipients=reminder.recipients)
    return reminder
