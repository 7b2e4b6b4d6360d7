from django.core.management.base import BaseCommand, CommandError

from metrics.ledger import ledger_daily_all


class Command(BaseCommand):
    help = (
        "Bring every organisation's credit ledger in step with the engine and expire the "
        "credits past their claim window (what Celery beat does each morning; for the "
        "embedded default)."
    )

    def handle(self, *args, **options):
        report = ledger_daily_all()
        self.stdout.write(f"{report.done} ledger entr{'y' if report.done == 1 else 'ies'} changed.")
        if report.failed:
            raise CommandError(f"{report.failed} failure(s): {'; '.join(report.failures)}")
