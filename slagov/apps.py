from django.apps import AppConfig


class SlagovConfig(AppConfig):
    name = "slagov"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        # Registers the OpenAPI description of token authentication.
        from slagov import api  # noqa: F401
