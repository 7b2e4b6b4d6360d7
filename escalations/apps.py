from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    name = "escalations"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from slagov.models import Organization

        post_save.connect(_default_policy, sender=Organization, dispatch_uid="default_policy")


def _default_policy(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """Every organisation starts with the default escalation policy (never made on a read)."""
    if created and not raw:
        from escalations.policies import ensure_default_policy
        from slagov.tenancy import tenant_scope

        with tenant_scope(instance.pk):
            ensure_default_policy(instance.pk)
