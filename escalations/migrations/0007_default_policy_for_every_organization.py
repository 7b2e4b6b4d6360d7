"""
Every organisation has its default escalation policy from the start (it used
to be made on the first read of the policy page). The steps are PRODUCT.md's
defaults as they stood when this migration was written.
"""

from django.db import migrations

STEPS = [
    {"condition": "forecast", "threshold": 2, "level": 0, "recipients": ["owner"],
     "action": "Early warning: forecast to turn red within two periods. "
               "Talk to the vendor before it does."},
    {"condition": "state", "state": "yellow_or_worse", "threshold": 14, "level": 1,
     "due_hours": 48, "recipients": ["owner", "vendor_contacts"],
     "action": "The account managers of both sides meet within 48 hours."},
    {"condition": "state", "state": "red", "threshold": 7, "level": 2,
     "recipients": ["leadership", "owner"], "action": "Senior leadership is informed."},
    {"condition": "missed_due", "threshold": 0, "level": 1, "recipients": ["owner", "leadership"],
     "action": "A due-by was missed: the escalation goes one level up."},
    {"condition": "data_late", "threshold": 7, "level": 1,
     "recipients": ["owner", "vendor_contacts"], "action": "Data is a week late: chase the vendor."},
]


def create_missing(apps, schema_editor):
    Organization = apps.get_model("slagov", "Organization")
    EscalationPolicy = apps.get_model("escalations", "EscalationPolicy")
    EscalationStep = apps.get_model("escalations", "EscalationStep")
    having = EscalationPolicy.objects.filter(contract__isnull=True).values("organization_id")
    for organization in Organization.objects.exclude(pk__in=having):
        policy = EscalationPolicy.objects.create(
            organization=organization, name="Default escalation policy"
        )
        EscalationStep.objects.bulk_create(
            EscalationStep(organization=organization, policy=policy, order=i, **step)
            for i, step in enumerate(STEPS, 1)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0006_durable_work_and_outbox_kinds"),
        ("slagov", "0005_durable_work_and_outbox_kinds"),
    ]

    operations = [migrations.RunPython(create_missing, migrations.RunPython.noop)]
