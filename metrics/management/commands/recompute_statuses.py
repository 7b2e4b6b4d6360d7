import time

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from contracts.models import ServiceLevel
from metrics.services import statuses_recompute_all, statuses_recompute_isolated
from slagov.jobs import JobReport
from slagov.models import Organization


class Command(BaseCommand):
    help = (
        "Recompute every period status, health and trend (of one organisation, or all). "
        "Idempotent: rows that are already right are not written. Each organisation and "
        "chunk runs on its own: a failure is logged and counted, the others still run, "
        "and the command exits with an error at the end."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Organisation slug (default: every organisation).")
        parser.add_argument(
            "--workers", action="store_true", help="Fan out to the Celery workers instead."
        )

    @scopes_disabled()
    def handle(self, *args, org=None, workers=False, **options):
        orgs = Organization.objects.order_by("slug")
        if org:
            orgs = orgs.filter(slug=org)
            if not orgs.exists():
                raise CommandError(f"No organisation with slug {org!r}.")
        report = JobReport()
        if workers:
            for organization in orgs:
                with report.isolated(organization, "queueing the recompute"):
                    report.done += statuses_recompute_all(organization_id=organization.pk)
            tasks = report.done
            self.stdout.write(f"{tasks} recompute task{'s' if tasks != 1 else ''} queued.")
        else:
            for organization in orgs:
                ids = list(
                    ServiceLevel.objects.filter(organization=organization)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                started = time.perf_counter()
                part = JobReport()
                statuses_recompute_isolated(
                    report=part, organization=organization, service_level_ids=ids, force=True
                )
                report.merge(part)
                failed = f", {part.failed} failed (see the log)" if part.failed else ""
                self.stdout.write(
                    f"{organization.slug}: {len(ids)} SLAs, {part.done} status rows written "
                    f"in {time.perf_counter() - started:.1f} s{failed}"
                )
        if report.failed:
            for failure in report.failures:
                self.stderr.write(f"failed: {failure}")
            raise CommandError(f"{report.failed} failure(s); the other organisations were done.")
