from django.conf import settings
from django.core.management.base import BaseCommand

from slagov.demo import DEMO_PASSWORD, seed


class Command(BaseCommand):
    help = "Load the demo organisations, vendors, contracts and 18 months of readings (idempotent)."

    def handle(self, *args, **options):
        logins = seed()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Log in at {settings.SITE_URL}/"))
        self.stdout.write(f"Password for every demo user: {DEMO_PASSWORD}")
        self.stdout.write(f"  {'username':<10} {'organisation':<22} role")
        for username, org, role in logins:
            self.stdout.write(f"  {username:<10} {org:<22} {role}")
