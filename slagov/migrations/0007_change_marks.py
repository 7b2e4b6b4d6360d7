"""
The change marks (`slagov.ChangeMark`) and, on PostgreSQL, the triggers that
append them: statement-level, with transition tables to find the
organisations a statement touched, so `COPY`, `UPDATE … RETURNING` and raw SQL
are seen as the ORM's writes are. SQLite (the embedded demo) has no
transition tables: there nothing reads the marks (nothing is cached on them).
"""

import django.db.models.functions.datetime
from django.db import migrations, models

# The tables governance health reads (reviews.health_data.contract_facts), and the
# vendors, whose names the lists show. Each has its organization_id.
TABLES = (
    "contracts_contract",
    "contracts_servicelevel",
    "contracts_vendor",
    "reviews_review",
    "reviews_actionitem",
    "reviews_relevancecheck",
    "reviews_vendorwarning",
    "escalations_escalation",
    "metrics_reading",
    "metrics_readingrevision",
    "slagov_membership",
)

FUNCTIONS = """
CREATE FUNCTION slagov_mark_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- An UPDATE never moves a row to another organisation: its new rows are enough.
    IF TG_OP = 'DELETE' THEN
        INSERT INTO slagov_changemark (organization_id)
        SELECT DISTINCT organization_id FROM old_rows;
    ELSE
        INSERT INTO slagov_changemark (organization_id)
        SELECT DISTINCT organization_id FROM new_rows;
    END IF;
    RETURN NULL;
END $$;

-- A user's name or active flag shows in (and judges) each of their organisations'
-- contracts; a sign-in (last_login) changes nothing there.
CREATE FUNCTION slagov_mark_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO slagov_changemark (organization_id)
    SELECT DISTINCT m.organization_id
    FROM new_rows n
    JOIN old_rows o ON o.id = n.id
    JOIN slagov_membership m ON m.user_id = n.id
    WHERE (n.username, n.first_name, n.last_name, n.is_active)
        IS DISTINCT FROM (o.username, o.first_name, o.last_name, o.is_active);
    RETURN NULL;
END $$;

-- The organisation's compliance threshold and currency decide a contract's mode.
CREATE FUNCTION slagov_mark_organization_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO slagov_changemark (organization_id) SELECT id FROM new_rows;
    RETURN NULL;
END $$;
"""


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


TRIGGERS = "".join(_table_triggers(t) for t in TABLES) + """
CREATE TRIGGER auth_user_mark_update AFTER UPDATE ON auth_user
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION slagov_mark_user_changed();
CREATE TRIGGER slagov_organization_mark_update AFTER UPDATE ON slagov_organization
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION slagov_mark_organization_changed();
"""

DROP = (
    "".join(
        f"DROP TRIGGER IF EXISTS {t}_mark_{op} ON {t};"
        for t in TABLES
        for op in ("insert", "update", "delete")
    )
    + "DROP TRIGGER IF EXISTS auth_user_mark_update ON auth_user;"
    + "DROP TRIGGER IF EXISTS slagov_organization_mark_update ON slagov_organization;"
    + "DROP FUNCTION IF EXISTS slagov_mark_changed();"
    + "DROP FUNCTION IF EXISTS slagov_mark_user_changed();"
    + "DROP FUNCTION IF EXISTS slagov_mark_organization_changed();"
)


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTIONS + TRIGGERS)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("slagov", "0006_monthly_report_opt_in"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contracts", "0006_credit_claim_window"),
        ("escalations", "0010_claim_index"),
        ("metrics", "0010_engine_change_tracking"),
        ("reviews", "0006_relevance_checks"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChangeMark",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("organization_id", models.BigIntegerField()),
                (
                    "at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["organization_id", "id"], name="changemark_stamp")
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
