from django.core.management.base import BaseCommand, CommandError

from escalations.data_reminders import reminders_send
from metrics.services import statuses_refresh_all


class Command(BaseCommand):
    help = "Refresh no-data/late statuses, then e-mail data-deadline reminders (each once)."

    def handle(self, *args, **options):
        refreshed = statuses_refresh_all()
        report = reminders_send()
        sent = report.done
        self.stdout.write(f"{sent} reminder e-mail{'s' if sent != 1 else ''} sent.")
        failures = refreshed.failures + report.failures
        if refreshed.failed or report.failed:
            for failure in failures:
                self.stderr.write(f"failed: {failure}")
            raise CommandError(
                f"{refreshed.failed + report.failed} failure(s); the other organisations were done."
            )
