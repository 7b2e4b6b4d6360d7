from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from slagov.demo import DEMO_PASSWORD, seed


class Command(BaseCommand):
    help = (
        "Load the demo organisations, vendors, contracts and 18 months of readings (idempotent). "
        "Development only (DEBUG=true): every demo user has the same published password."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load the demo data with DEBUG=false too (never the demo superuser there).",
        )

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is false: refusing to load the demo data, whose users all share a "
                "published password. Use it in development (DEBUG=true), or pass --force to "
                "load it anyway (without the demo superuser)."
            )
        # The superuser with the published password exists only on a development server.
        logins = seed(superuser=settings.DEBUG)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Log in at {settings.SITE_URL}/"))
        self.stdout.write(f"Password for every demo user: {DEMO_PASSWORD}")
        if not settings.DEBUG:
            self.stdout.write(
                self.style.WARNING(
                    "DEBUG is false: no demo superuser was created. The demo users' password "
                    "is published: change it or remove them before real use."
                )
            )
        self.stdout.write(f"  {'username':<10} {'organisation':<22} role")
        for username, org, role in logins:
            self.stdout.write(f"  {username:<10} {org:<22} {role}")
