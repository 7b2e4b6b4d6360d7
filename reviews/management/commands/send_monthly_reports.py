from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reviews.report_mail import send_monthly_reports


class Command(BaseCommand):
    help = (
        "Queue each organisation's monthly report of the month just ended to the members who "
        "opted in, once per month (what Celery beat does on the 1st; for the embedded "
        "default: safe to run daily)."
    )

    def handle(self, *args, **options):
        report = send_monthly_reports(now=timezone.now())
        self.stdout.write(f"{report.done} report e-mail(s) queued.")
        if report.failed:
            raise CommandError(f"{report.failed} failure(s): {'; '.join(report.failures)}")
