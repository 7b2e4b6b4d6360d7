from django.core.management.base import BaseCommand, CommandError

from reviews.services import reviews_plan_all


class Command(BaseCommand):
    help = (
        "Plan the next cadence review of every proactive contract that has none (what "
        "Celery beat does each morning; for the embedded default)."
    )

    def handle(self, *args, **options):
        report = reviews_plan_all()
        self.stdout.write(f"{report.done} review(s) planned.")
        if report.failed:
            raise CommandError(f"{report.failed} failure(s): {'; '.join(report.failures)}")
