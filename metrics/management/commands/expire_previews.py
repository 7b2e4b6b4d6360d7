from django.core.management.base import BaseCommand, CommandError

from metrics.ingest.pipeline import submissions_expire
from metrics.models import Submission


class Command(BaseCommand):
    help = (
        f"Expire previews not applied within {Submission.PREVIEW_DAYS} days of being made "
        "(run hourly or daily without Celery beat)."
    )

    def handle(self, *args, **options):
        report = submissions_expire()
        self.stdout.write(f"{report.done} preview{'s' if report.done != 1 else ''} expired.")
        if report.failed:
            for failure in report.failures:
                self.stderr.write(f"failed: {failure}")
            raise CommandError(f"{report.failed} failure(s); the other organisations were done.")
