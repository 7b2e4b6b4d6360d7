from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"

    def ready(self) -> None:
        # The outbox renders review invitations and action-item reminders with these.
        from reviews import mail_actions, mail_invitations  # noqa: F401
