import re
from pathlib import Path

from django.conf import settings
from django.core import mail
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from slagov.demo import DEMO_PASSWORD, seed

CONSOLE = "django.core.mail.backends.console.EmailBackend"
MONTHLY_REPORT = ": the monthly report for "  # reviews.report_mail's subject


def keep_as_files(messages: list, folder: Path) -> Path:
    """Each message as a numbered .eml file in `folder` (the previous run's files go)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.eml"):
        old.unlink()
    for number, message in enumerate(messages, 1):
        name = re.sub(r"[^a-z0-9]+", "-", message.subject.lower()).strip("-")[:60]
        (folder / f"{number:03d}-{name or 'message'}.eml").write_bytes(message.message().as_bytes())
    return folder


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
        reports = []
        if settings.EMAIL_BACKEND == CONSOLE:
            # The demo's story sends dozens of e-mails: kept as files, not printed.
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                mail.outbox = []
                logins = seed(superuser=settings.DEBUG)
                sent, mail.outbox = list(mail.outbox), []
            folder = keep_as_files(sent, Path(settings.VAR_DIR) / "demo-mail")
            self.stdout.write(
                f"The demo's story sent {len(sent)} e-mail{'' if len(sent) == 1 else 's'}: "
                f"read them in {folder}/ (.eml files). From now on e-mails are printed here."
            )
            reports = [m for m in sent if MONTHLY_REPORT in m.subject]
        else:
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
        if settings.EMAIL_BACKEND == CONSOLE and reports:
            # What leadership reads, after the logins: the monthly report's text as sent.
            report = reports[0]
            self.stdout.write(f"\nThe monthly leadership report, as sent to {report.to[0]}:")
            self.stdout.write(f"Subject: {report.subject}\n\n{report.body}")
