import time

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from contracts.models import ServiceLevel
from metrics import engine
from metrics.services import statuses_recompute_all
from slagov.models import Organization


class Command(BaseCommand):
    help = (
        "Recompute every period status, health and trend (of one organisation, or all). "
        "Idempotent: rows that are already right are not written."
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
        if workers:
            tasks = sum(statuses_recompute_all(organization_id=o.pk) for o in orgs)
            self.stdout.write(f"{tasks} recompute task{'s' if tasks != 1 else ''} queued.")
            return
        for organization in orgs:
            ids = list(
                ServiceLevel.objects.filter(organization=organization).values_list("pk", flat=True)
            )
            started = time.perf_counter()
            written = engine.recompute(organization_id=organization.pk, service_level_ids=ids)
            self.stdout.write(
                f"{organization.slug}: {len(ids)} SLAs, {written} status rows written "
                f"in {time.perf_counter() - started:.1f} s"
            )
