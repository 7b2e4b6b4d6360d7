"""
Each SLA owes data from its data start. An existing SLA owes it from the first
period that ends after it was added (`periods.default_data_start` applied to
its `created_at`), never before its contract's first period, so that adding
it to a running contract did not make the contract's past late.
"""

from django.db import migrations, models
from django.utils import timezone

from contracts import periods

HELP = (
    "The first day of the first period for which data is owed; earlier periods may be "
    "backfilled but are never late."
)
BATCH = 2000


def _added_on(created_at):
    return timezone.localdate(created_at) if created_at else timezone.localdate()


def fill_data_start(apps, schema_editor):
    ServiceLevel = apps.get_model("contracts", "ServiceLevel")
    HistoricalServiceLevel = apps.get_model("contracts", "HistoricalServiceLevel")
    Contract = apps.get_model("contracts", "Contract")
    starts = dict(Contract.objects.values_list("pk", "start_date"))
    batch = []
    rows = ServiceLevel.objects.filter(data_start__isnull=True).only(
        "pk", "period", "created_at", "contract_id"
    )
    for sla in rows.order_by("pk").iterator(chunk_size=BATCH):
        sla.data_start = periods.default_data_start(
            _added_on(sla.created_at), sla.period, starts[sla.contract_id]
        )
        batch.append(sla)
        if len(batch) >= BATCH:
            ServiceLevel.objects.bulk_update(batch, ["data_start"])
            batch = []
    ServiceLevel.objects.bulk_update(batch, ["data_start"])
    # History rows say what the SLA was then: the same rule, from the same day.
    batch = []
    history = HistoricalServiceLevel.objects.filter(data_start__isnull=True).only(
        "history_id", "id", "period", "created_at", "contract_id"
    )
    for row in history.order_by("history_id").iterator(chunk_size=BATCH):
        start = starts.get(row.contract_id)
        added_on = _added_on(row.created_at)
        if start is None:  # the contract is gone: only the SLA's own day counts
            row.data_start = periods.first_owed_period(added_on, row.period)
        else:
            row.data_start = periods.default_data_start(added_on, row.period, start)
        batch.append(row)
        if len(batch) >= BATCH:
            HistoricalServiceLevel.objects.bulk_update(batch, ["data_start"])
            batch = []
    HistoricalServiceLevel.objects.bulk_update(batch, ["data_start"])


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0003_measures_time"),
    ]

    operations = [
        migrations.AddField(
            model_name="servicelevel",
            name="data_start",
            field=models.DateField(
                blank=True, null=True, help_text=HELP, verbose_name="data owed from"
            ),
        ),
        migrations.AddField(
            model_name="historicalservicelevel",
            name="data_start",
            field=models.DateField(
                blank=True, null=True, help_text=HELP, verbose_name="data owed from"
            ),
        ),
        migrations.RunPython(fill_data_start, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="servicelevel",
            name="data_start",
            field=models.DateField(blank=True, help_text=HELP, verbose_name="data owed from"),
        ),
        migrations.AlterField(
            model_name="historicalservicelevel",
            name="data_start",
            field=models.DateField(blank=True, help_text=HELP, verbose_name="data owed from"),
        ),
    ]
