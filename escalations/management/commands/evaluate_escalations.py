from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_scopes import scopes_disabled

from escalations.models import Notification
from escalations.tasks import sweep
from slagov.celery import app


class Command(BaseCommand):
    help = (
        "Evaluate the escalation rules over every SLA, escalate missed due-bys and send "
        "what the outbox holds (what Celery beat does hourly; for the embedded default)."
    )

    def handle(self, *args, **options):
        started = timezone.now()
        totals = sweep()  # ends by asking for the outbox to be sent
        missed = f"{totals['due_missed']} missed due-by(s)"
        if not app.conf.task_always_eager:
            self.stdout.write(
                f"{totals['chunks']} chunk(s) queued, {missed}; the workers send the notifications."
            )
            self._fail_if_any(totals)
            return
        # In-process, each change sent its e-mails as it committed: count them all.
        with scopes_disabled():
            sent = Notification.objects.filter(
                state=Notification.State.SENT,
                delivery=Notification.Delivery.IMMEDIATE,
                sent_at__gte=started,
            ).count()
        self.stdout.write(
            f"{totals['chunks']} chunk(s) evaluated, {missed}; "
            f"{sent} notification{'s' if sent != 1 else ''} sent."
        )
        self._fail_if_any(totals)

    def _fail_if_any(self, totals: dict) -> None:
        """Every organisation was done; say which failed (the log has the details)."""
        if totals["failed"]:
            for failure in totals["failures"]:
                self.stderr.write(f"failed: {failure}")
            raise CommandError(f"{totals['failed']} failure(s); the other organisations were done.")
