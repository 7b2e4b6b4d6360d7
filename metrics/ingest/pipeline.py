"""
The ingestion services: receive → validate (task) → confirm → apply.

Uploads and API batches go through the same functions. The file is stored
first and processed by a task from its id; validation replaces its staged
rows and errors, so a re-run is harmless; a confirmation claims the
submission with a conditional UPDATE, so two concurrent confirmations apply
it once; applying is one transaction: all rows or none.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts.models import Vendor
from metrics.ingest import files, staging, validate
from metrics.models import Reading, Submission, SubmissionRow
from slagov import formatting, work
from slagov.jobs import JobReport
from slagov.models import Organization
from slagov.tenancy import in_scope_of_row, in_tenant_scope

logger = logging.getLogger(__name__)
State = Submission.State


GAVE_UP = (
    f"Reading this file was started {Submission.MAX_ATTEMPTS} times and never finished (the "
    "process reading it stopped). Nothing was stored. Try again, or discard it and upload "
    "the file saved again from Excel, or as CSV."
)


def lost_after() -> timedelta:
    """
    A validation attempt not finished this long after it was asked for is taken
    as lost (its worker died, or the ask never reached one): the work lease,
    well beyond the reader's own time limit and the longest validation.
    """
    return timedelta(seconds=settings.WORK_LEASE_SECONDS)


STALE = (
    "The data changed since this preview was made (another submission or a correction was "
    "applied). Validate the file again to see the new preview: the reasons you gave are kept."
)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


@in_tenant_scope
@transaction.atomic
def submission_receive(
    *,
    organization: Organization,
    actor,
    vendor: Vendor,
    data: bytes,
    filename: str,
    source: str = Submission.Source.UPLOAD,
    apply_when_valid: bool = False,
    enqueue: bool = True,
) -> Submission:
    """
    Store the file and record the submission. A byte-identical file already
    applied for this vendor is recorded as a duplicate and not processed (a
    file that was only previewed, or had errors, is checked again: the data
    and the date may have changed since).
    """
    if vendor.organization_id != organization.pk:
        raise ValueError("vendor of another organisation")
    digest = hashlib.sha256(data).hexdigest()
    earlier = (
        Submission.objects.filter(
            organization=organization,
            vendor=vendor,
            sha256=digest,
            state=State.APPLIED,
        )
        .order_by("-created_at")
        .first()
    )
    if earlier is not None and _values_changed_since(earlier):
        # The same file, but the stored values were corrected since: it is a
        # preview of what it would change back, not "nothing to apply".
        earlier = None
    submission = Submission(
        organization=organization,
        vendor=vendor,
        source=source,
        created_by=actor,
        created_at=timezone.now(),
        original_name=(filename or "upload")[:255],
        extension=files.extension_of(filename or "")[:8],
        size=len(data),
        sha256=digest,
        apply_when_valid=apply_when_valid,
        state=State.DUPLICATE if earlier else State.RECEIVED,
        duplicate_of=earlier,
        progress=100 if earlier else 0,
    )
    submission.file.save(f"{digest}{submission.extension}", ContentFile(data), save=False)
    submission.save()
    if earlier is None and enqueue:
        validate_after_commit(submission.pk)
    return submission


def validate_after_commit(submission_id: int) -> None:
    """
    Ask a worker to validate the submission once the transaction commits. A
    broker that can't be reached is logged, never an error for the uploader:
    the submission waits as received, and the sweeper (submissions_recover_all)
    asks again once its lease has passed.
    """
    from metrics.tasks import validate_submission

    transaction.on_commit(lambda: work.enqueue(validate_submission, submission_id))


def _values_changed_since(earlier: Submission) -> bool:
    """Does any stored reading differ from (or lack) the value this applied submission gave?"""
    same = Reading.objects.filter(
        organization_id=earlier.organization_id,
        service_level_id=OuterRef("service_level_id"),
        period_start=OuterRef("period_start"),
        value=OuterRef("value"),
    )
    return SubmissionRow.objects.filter(submission=earlier).exclude(Exists(same)).exists()


def _claim(submission_id: int, from_states: list[str], to_state: str, **extra) -> bool:
    return bool(
        Submission.objects.filter(pk=submission_id, state__in=from_states).update(
            state=to_state, **extra
        )
    )


def _progress(submission_id: int, percent: int) -> None:
    Submission.objects.filter(pk=submission_id).update(progress=percent)


@in_scope_of_row(Submission, "submission_id")
def submission_validate(*, submission_id: int, today=None) -> Submission:
    """
    Parse and validate a stored file (the task body). Re-running it is safe: a
    submission that is no longer waiting is left alone; one interrupted while
    validating is validated again from scratch.
    """
    waiting = [State.RECEIVED, State.VALIDATING]
    exhausted = Submission.objects.filter(
        pk=submission_id, state__in=waiting, attempts__gte=Submission.MAX_ATTEMPTS
    ).update(state=State.FAILED, progress=100, failure=GAVE_UP)
    if exhausted or not _claim(
        submission_id, waiting, State.VALIDATING, progress=5, attempts=F("attempts") + 1,
        claimed_at=timezone.now(),
    ):  # fmt: skip
        return Submission.objects.get(pk=submission_id)
    submission = Submission.objects.select_related("organization", "vendor").get(pk=submission_id)
    today = today or timezone.localdate()
    try:
        with submission.file.open("rb") as fh:
            data = fh.read()
        try:
            table = files.read_table(data, submission.original_name)
        except files.UnreadableFileError as exc:
            table = None
            problems = [files.Problem(None, "", "", exc.message)]
            checked = validate.Checked(rows=_empty_rows(), problems=problems)
        if table is not None:
            _progress(submission_id, 30)
            catalogue = validate.VendorCatalogue.load(
                organization_id=submission.organization_id, vendor_id=submission.vendor_id
            )
            checked = validate.check(
                table.frame, catalogue, today=today, organization_id=submission.organization_id
            )
            checked.problems = table.problems + checked.problems
            _progress(submission_id, 70)
        with transaction.atomic():
            staging.durable_enough()
            staging.stage(
                organization_id=submission.organization_id,
                submission_id=submission_id,
                rows=checked.rows,
                problems=checked.problems,
            )
            counts = checked.counts()
            valid = not checked.problems
            # Only if nobody discarded it (or gave up on it) while it was being read.
            finished = Submission.objects.filter(pk=submission_id, state=State.VALIDATING).update(
                state=State.READY if valid else State.INVALID,
                progress=100,
                rows_total=(table.data_rows if table else 0),
                rows_new=counts["new"],
                rows_changed=counts["changed"],
                rows_unchanged=counts["unchanged"],
                rows_with_errors=len({p.row for p in checked.problems if p.row is not None}),
                error_count=len(checked.problems),
                warnings=(table.warnings if table else []) + checked.warnings,
                validated_at=timezone.now(),
            )
            if not finished:
                transaction.set_rollback(True)
    except Exception as exc:
        logger.exception("validating submission %s failed", submission_id)
        Submission.objects.filter(pk=submission_id, state=State.VALIDATING).update(
            state=State.FAILED, progress=100, failure=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    submission.refresh_from_db()
    if submission.state == State.READY and submission.apply_when_valid:
        outcome = submission_confirm(
            organization=submission.organization,
            actor=submission.created_by,
            submission=submission,
        )
        submission.refresh_from_db()
        submission.apply_outcome = outcome
    return submission


EMPTY_COLUMNS = ["row", "service_level_id", "period_start", "value", "note", "action"]


def _empty_rows():
    import pandas as pd

    return pd.DataFrame(columns=[*EMPTY_COLUMNS, "old_value", "colour"])


REASONS_PER_UPDATE = 1_000


def _give_reasons(rows, reasons: dict[int, str]) -> None:
    """The reason given for a changed row becomes its note: one UPDATE (per 1,000 reasons)."""
    cleaned = [(number, reason.strip()[:500]) for number, reason in reasons.items()]
    cleaned = [(number, reason) for number, reason in cleaned if reason]
    rows = rows.filter(submission__state=State.READY)  # never the notes of an applied one
    for start in range(0, len(cleaned), REASONS_PER_UPDATE):
        batch = cleaned[start : start + REASONS_PER_UPDATE]
        rows.filter(action="changed", row_number__in=[number for number, _ in batch]).update(
            note=Case(
                *(When(row_number=number, then=Value(reason)) for number, reason in batch),
                default=F("note"),
            )
        )


def reasons_by_row(pairs) -> dict[int, str]:
    """
    The reasons typed for changed rows, by row number, from (key, reason) pairs:
    a key that isn't a row number in ASCII digits ("²".isdigit() is true), or
    names a row no file can have, names no row and is dropped.
    """
    from slagov.filters import ASCII_DIGITS, parse_digits

    last_row = files.MAX_ROWS + 1  # the header is row 1
    found = {}
    for key, reason in pairs:
        if ASCII_DIGITS.fullmatch(key) and 1 <= (row := parse_digits(key)) <= last_row:
            found[row] = reason
    return found


@in_tenant_scope
def submission_confirm(
    *,
    organization: Organization,
    actor,
    submission: Submission,
    reasons: dict[int, str] | None = None,
) -> Outcome:
    """
    Apply a validated submission, all or nothing. Every changed value needs a
    reason (its note, or one given here). Two concurrent confirmations: the
    first claims the submission, the second finds it no longer ready.
    """
    if submission.organization_id != organization.pk:
        raise ValueError("submission of another organisation")
    now = timezone.now()
    rows = SubmissionRow.objects.filter(submission=submission)
    # The reasons are kept whatever comes next: a refusal never costs what was typed.
    _give_reasons(rows, reasons or {})
    with transaction.atomic():
        if not _claim(submission.pk, [State.READY], State.APPLYING):
            current = Submission.objects.get(pk=submission.pk)
            if current.state == State.APPLIED:
                return Outcome(False, f"Submission #{submission.pk} was already applied.")
            if current.state == State.EXPIRED:
                return Outcome(False, _expired(current))
            return Outcome(
                False,
                f"Submission #{submission.pk} can't be applied: it is "
                f"{current.get_state_display().lower()}.",
            )
        missing = list(
            rows.filter(action="changed", note="").values_list("row_number", flat=True)[:20]
        )
        if missing:
            transaction.set_rollback(True)
            listed = ", ".join(str(n) for n in missing)
            return Outcome(False, f"Give a reason for every changed value (rows {listed}).")
        if staging.stale_rows(submission.pk):
            transaction.set_rollback(True)
            return Outcome(False, STALE)
        try:
            with transaction.atomic():
                written = staging.apply(
                    submission_id=submission.pk,
                    actor_id=getattr(actor, "pk", None),
                    source=submission.source,  # "upload" or "api": a Reading.Source too
                    now=now,
                )
        except IntegrityError:
            # Another submission wrote the same readings between our check and our write.
            transaction.set_rollback(True)
            return Outcome(False, STALE)
        Submission.objects.filter(pk=submission.pk).update(
            state=State.APPLIED, applied_at=now, applied_by=actor
        )
        # Exactly the SLAs and periods this submission changed.
        affected = list(
            rows.filter(action__in=["new", "changed"])
            .order_by()
            .values_list("service_level_id", "period_start")
        )
        work.recompute_later(organization_id=organization.pk, pairs=affected)
    return Outcome(
        True,
        f"Applied {written} reading{'s' if written != 1 else ''} from submission #{submission.pk}.",
    )


def _when(moment) -> str:
    return formatting.moment(moment) if moment else "an unknown date"


def _expired(submission: Submission) -> str:
    return (
        f"Submission #{submission.pk} expired on {_when(submission.expired_at)}: a "
        f"preview is kept {Submission.PREVIEW_DAYS} days. Validate it again to see a fresh "
        "preview."
    )


@in_tenant_scope
def submission_revalidate(
    *,
    organization: Organization,
    actor,
    submission: Submission,
    reasons: dict[int, str] | None = None,
) -> bool:
    """
    Send a ready (stale), invalid, failed or expired submission through
    validation again; reasons given for changed rows are kept first, and
    carried to the new preview.
    """
    if submission.organization_id != organization.pk:
        raise ValueError("submission of another organisation")
    _give_reasons(SubmissionRow.objects.filter(submission=submission), reasons or {})
    claimed = _claim(
        submission.pk, list(Submission.REVALIDATABLE), State.RECEIVED, progress=0,
        attempts=0, failure="", claimed_at=timezone.now(), expired_at=None,
    )  # fmt: skip
    if claimed:
        validate_after_commit(submission.pk)
    return claimed


@in_tenant_scope
def submission_discard(*, organization: Organization, actor, submission: Submission) -> Outcome:
    """
    Set a submission that was not applied aside for good: it leaves the list of
    pending submissions and its staged rows are deleted (its file and errors
    are kept). A worker still reading it finds it discarded and stores nothing.
    Discarding one already discarded (a second click) is no error; an applied
    one can't be discarded: its values are stored.
    """
    if submission.organization_id != organization.pk:
        raise ValueError("submission of another organisation")
    number = f"Submission #{submission.pk}"
    with transaction.atomic():
        claimed = _claim(
            submission.pk, list(Submission.DISCARDABLE), State.DISCARDED,
            discarded_at=timezone.now(), discarded_by=actor, progress=100,
        )  # fmt: skip
        if claimed:
            SubmissionRow.objects.filter(submission_id=submission.pk).delete()
            return Outcome(True, f"{number} was discarded: nothing from it was or will be stored.")
    current = Submission.objects.get(pk=submission.pk)
    if current.state == State.DISCARDED:
        return Outcome(
            True,
            f"{number} was already discarded on {_when(current.discarded_at)}: nothing from it "
            "was stored.",
        )
    if current.state == State.EXPIRED:
        return Outcome(
            True,
            f"{number} expired on {_when(current.expired_at)}: nothing from it was stored, and "
            "it is no longer pending.",
        )
    if current.state == State.APPLIED:
        return Outcome(
            False,
            f"{number} can't be discarded: it was applied on {_when(current.applied_at)} and its "
            "values are stored. To change a value, upload a corrected file.",
        )
    return Outcome(False, f"{number} can't be discarded: it is being applied.")


@scopes_disabled()
def submissions_expire(*, now=None) -> JobReport:
    """
    Scheduled: previews still ready PREVIEW_DAYS after they were made expire,
    each organisation on its own. Each is claimed with a conditional UPDATE,
    so a confirmation at the same moment either applies it or finds it expired;
    a re-run finds nothing left to do. `done` counts the previews expired.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=Submission.PREVIEW_DAYS)
    report = JobReport()
    due = Submission.objects.filter(state=State.READY).filter(
        Q(validated_at__lt=cutoff) | Q(validated_at__isnull=True, created_at__lt=cutoff)
    )
    organizations = Organization.objects.filter(pk__in=due.values("organization_id"))
    for organization in organizations.order_by("pk"):
        with report.isolated(organization, "expiring previews"), transaction.atomic():
            expired = due.filter(organization=organization).update(
                state=State.EXPIRED, expired_at=now
            )
            SubmissionRow.objects.filter(
                organization=organization, submission__state=State.EXPIRED
            ).delete()
            report.done += expired
    return report


def submission_may_be_lost(submission: Submission, now=None) -> bool:
    """
    Could a lost worker have left this submission (as loaded)? The cheap test a
    polling page makes before it asks submission_recover, which decides in SQL.
    """
    if submission.state not in (State.RECEIVED, State.VALIDATING):
        return False
    lost = (now or timezone.now()) - lost_after()
    started = submission.claimed_at or submission.created_at
    return started < lost


@in_scope_of_row(Submission, "submission_id")
def submission_recover(*, submission_id: int, now=None) -> str:
    """
    Finish what a lost worker left: a submission waiting or being read for
    longer than `lost_after()` is queued again, or failed once it has had
    MAX_ATTEMPTS attempts. Returns what was done ("requeued", "failed", "").
    """
    now = now or timezone.now()
    lost = now - lost_after()
    stuck = Submission.objects.filter(pk=submission_id).filter(
        Q(state=State.RECEIVED, created_at__lt=lost, claimed_at__isnull=True)
        | Q(state=State.RECEIVED, claimed_at__lt=lost)
        | Q(state=State.VALIDATING, claimed_at__lt=lost)
    )
    if stuck.filter(attempts__gte=Submission.MAX_ATTEMPTS).update(
        state=State.FAILED, progress=100, failure=GAVE_UP
    ):
        return "failed"
    # Claimed again now, so a page polling every second queues it once.
    if stuck.update(state=State.RECEIVED, claimed_at=now):
        validate_after_commit(submission_id)
        return "requeued"
    return ""


@scopes_disabled()
def submissions_recover_all(*, now=None) -> int:
    """Scheduled: recover every submission a lost worker left waiting (all organisations)."""
    now = now or timezone.now()
    lost = now - lost_after()
    ids = (
        Submission.objects.filter(state__in=[State.RECEIVED, State.VALIDATING])
        .filter(Q(created_at__lt=lost) | Q(claimed_at__lt=lost))
        .values_list("pk", flat=True)
    )
    done = 0
    for submission_id in ids:
        try:
            done += bool(submission_recover(submission_id=submission_id, now=now))
        except Exception:
            logger.exception("recovering submission %s failed", submission_id)
    return done
