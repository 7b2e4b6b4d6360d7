"""
Change marks for what the quarter outcomes and the heatmap read beside the
tables of 0007: escalation events, forecast episodes and the credit ledger.
The engine's own tables (statuses, health) are marked by the engine, once per
chunk it recomputed (`slagov.change_marks.mark`), not per statement.
"""

from django.db import migrations

TABLES = (
    "escalations_escalationevent",
    "escalations_forecastepisode",
    "metrics_creditentry",
)


def _table_triggers(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_mark_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION slagov_mark_changed();
CREATE TRIGGER {table}_mark_update AFTER UPDATE ON {table}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION slagov_mark_changed();
CREATE TRIGGER {table}_mark_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION slagov_mark_changed();
"""


DROP = "".join(
    f"DROP TRIGGER IF EXISTS {t}_mark_{op} ON {t};"
    for t in TABLES
    for op in ("insert", "update", "delete")
)


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("".join(_table_triggers(t) for t in TABLES))


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("slagov", "0007_change_marks")]

    operations = [migrations.RunPython(create_triggers, drop_triggers, elidable=False)]
