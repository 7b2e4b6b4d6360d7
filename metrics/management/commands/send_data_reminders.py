from django.core.management.base import BaseCommand

from metrics.reminders import reminders_send
from metrics.services import statuses_refresh_all


class Command(BaseCommand):
    help = "Refresh no-data/late statuses, then e-mail data-deadline reminders (each once)."

    def handle(self, *args, **options):
        statuses_refresh_all()
        sent = reminders_send()
        self.stdout.write(f"{sent} reminder e-mail{'s' if sent != 1 else ''} sent.")
