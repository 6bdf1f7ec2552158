from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("file_upload", "0007_merge_0005_security_fields_0006_owner_level_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("file_id", models.BigIntegerField()),
                ("xid", models.BigIntegerField(blank=True, db_index=True, null=True)),
                ("at", models.DateTimeField(blank=True, db_index=True, null=True)),
            ],
        ),
    ]


# Triggers: every inserted, updated or deleted file row leaves its id in the change feed.
# PostgreSQL: one statement-level trigger per operation (transition tables), stamped with the
# writing transaction's id and start time. SQLite: row-level triggers (one writer at a time, so
# ids become visible in order).
PG_FORWARD = [
    """
    CREATE FUNCTION file_upload_search_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        INSERT INTO file_upload_searchchange (file_id, xid, at)
        SELECT id, pg_current_xact_id()::text::bigint, now() FROM old_rows;
      ELSE
        INSERT INTO file_upload_searchchange (file_id, xid, at)
        SELECT id, pg_current_xact_id()::text::bigint, now() FROM new_rows;
      END IF;
      RETURN NULL;
    END $$
    """,
    """CREATE TRIGGER file_upload_search_ins AFTER INSERT ON file_upload_file
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION file_upload_search_change()""",
    """CREATE TRIGGER file_upload_search_upd AFTER UPDATE ON file_upload_file
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION file_upload_search_change()""",
    """CREATE TRIGGER file_upload_search_del AFTER DELETE ON file_upload_file
       REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION file_upload_search_change()""",
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS file_upload_search_ins ON file_upload_file",
    "DROP TRIGGER IF EXISTS file_upload_search_upd ON file_upload_file",
    "DROP TRIGGER IF EXISTS file_upload_search_del ON file_upload_file",
    "DROP FUNCTION IF EXISTS file_upload_search_change()",
]
_SQLITE_STAMP = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
SQLITE_FORWARD = [
    f"""CREATE TRIGGER file_upload_search_{name} AFTER {op} ON file_upload_file FOR EACH ROW BEGIN
        INSERT INTO file_upload_searchchange (file_id, at) VALUES ({row}.id, {_SQLITE_STAMP}); END"""
    for name, op, row in (("ins", "INSERT", "NEW"), ("upd", "UPDATE", "NEW"), ("del", "DELETE", "OLD"))
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS file_upload_search_{name}" for name in ("ins", "upd", "del")]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}.get(vendor, []):
        schema_editor.execute(statement, None)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}.get(vendor, []):
        schema_editor.execute(statement, None)


Migration.operations.append(migrations.RunPython(forward, backward))
