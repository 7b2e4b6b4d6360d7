from django.core.management.base import BaseCommand

from slagov.tasks import sweep


class Command(BaseCommand):
    help = (
        "Do what was recorded but not done (follow-up work, submissions left waiting, "
        "outbox e-mails): every minute from cron where no Celery beat runs."
    )

    def handle(self, *args, **options):
        result = sweep()
        self.stdout.write(
            f"{result['work']} piece(s) of work asked for again, "
            f"{result['submissions']} submission(s) recovered; the outbox was sent."
        )
