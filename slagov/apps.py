from django.apps import AppConfig


class SlagovConfig(AppConfig):
    name = "slagov"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        # The OpenAPI description of token authentication; the outbox's renderer of
        # invitations to join an organisation; the pipeline's steps (slagov.work handlers).
        from slagov import api, mail_members, pipeline  # noqa: F401
