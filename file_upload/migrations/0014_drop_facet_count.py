"""The pre-aggregated facet counts go: the node's search index counts facets without reading
rows, and the SQL reference groups the rows it filters. Every file write stops paying for the
statement triggers and their upserts into shared count rows (docs/decisions/0004)."""

from django.db import migrations

PG_FORWARD = [
    "DROP TRIGGER IF EXISTS file_upload_facets_ins ON file_upload_file",
    "DROP TRIGGER IF EXISTS file_upload_facets_upd ON file_upload_file",
    "DROP TRIGGER IF EXISTS file_upload_facets_del ON file_upload_file",
    "DROP FUNCTION IF EXISTS file_upload_facets_insert()",
    "DROP FUNCTION IF EXISTS file_upload_facets_update()",
    "DROP FUNCTION IF EXISTS file_upload_facets_delete()",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in PG_FORWARD:
            schema_editor.execute(statement, None)


class Migration(migrations.Migration):
    dependencies = [("file_upload", "0013_upload_concat")]
    # Backwards: the table comes back empty and without triggers (migrating back to 0005's
    # design means re-running that migration's trigger SQL).
    operations = [
        migrations.RunPython(forward, migrations.RunPython.noop),
        migrations.DeleteModel(name="FacetCount"),
    ]
