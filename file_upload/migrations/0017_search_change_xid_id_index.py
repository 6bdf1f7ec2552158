from django.db import migrations, models


def drop_xid_index(apps, schema_editor):
    """Drop the index on xid alone by name, found by introspection: altering the field would make
    SQLite rebuild the feed table, which the file table's triggers name."""
    connection = schema_editor.connection
    table = apps.get_model("file_upload", "SearchChange")._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    for name, spec in constraints.items():
        if spec["index"] and not spec["primary_key"] and spec["columns"] == ["xid"]:
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def restore_xid_index(apps, schema_editor):
    model = apps.get_model("file_upload", "SearchChange")
    schema_editor.execute(f"CREATE INDEX searchchange_xid ON {schema_editor.quote_name(model._meta.db_table)} (xid)")


class Migration(migrations.Migration):
    """The feed is read by (xid, id) in keyset batches; the new index is built before the old
    one on xid alone goes, so readers always have one."""

    dependencies = [
        ("file_upload", "0016_file_trash_origin"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="searchchange",
            index=models.Index(fields=["xid", "id"], name="searchchange_xid_id"),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="searchchange",
                    name="xid",
                    field=models.BigIntegerField(blank=True, null=True),
                ),
            ],
            database_operations=[migrations.RunPython(drop_xid_index, restore_xid_index)],
        ),
    ]
