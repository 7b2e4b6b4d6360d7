from django.core.management.base import BaseCommand

from escalations import notify
from escalations.tasks import sweep


class Command(BaseCommand):
    help = (
        "Evaluate the escalation rules over every SLA, escalate missed due-bys and send "
        "what the outbox holds (what Celery beat does hourly; for the embedded default)."
    )

    def handle(self, *args, **options):
        totals = sweep()
        sent = notify.send_pending()
        self.stdout.write(
            f"{totals['chunks']} chunk(s) evaluated, {totals['due_missed']} missed due-by(s); "
            f"{sent} notification{'s' if sent != 1 else ''} sent."
        )
