from django.core.management.base import BaseCommand, CommandError

from reviews.actions import action_reminders_send


class Command(BaseCommand):
    help = (
        "Remind the owners of action items due in three days and tell those overdue, each "
        "once (what Celery beat does each morning; for the embedded default)."
    )

    def handle(self, *args, **options):
        report = action_reminders_send()
        self.stdout.write(f"{report.done} reminder(s) queued.")
        if report.failed:
            raise CommandError(f"{report.failed} failure(s): {'; '.join(report.failures)}")
