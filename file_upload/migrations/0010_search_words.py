"""Free text matches whole words of ``search_text`` (runs of letters and digits, as the search
index tokenizes them) on every database: on PostgreSQL a trigram index on ``search_text``
answers the word patterns, and the full-text column and its index (the old, parser-dependent
rule) go."""

from django.db import migrations

PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS file_search_text_trgm ON file_upload_file USING gin (search_text gin_trgm_ops)",
    "DROP INDEX IF EXISTS file_search_fts",
    "ALTER TABLE file_upload_file DROP COLUMN IF EXISTS search_vector",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS file_search_text_trgm",
    """
    DO $$ DECLARE expr text;
    BEGIN
      SELECT pg_get_expr(d.adbin, d.adrelid) INTO expr
        FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
       WHERE d.adrelid = 'file_upload_file'::regclass AND a.attname = 'search_text';
      EXECUTE format('ALTER TABLE file_upload_file ADD COLUMN search_vector tsvector'
                     ' GENERATED ALWAYS AS (to_tsvector(''simple''::regconfig, %s)) STORED', expr);
    END $$
    """,
    "CREATE INDEX file_search_fts ON file_upload_file USING gin (search_vector)",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in PG_FORWARD:
            schema_editor.execute(statement, None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in PG_BACKWARD:
            schema_editor.execute(statement, None)


class Migration(migrations.Migration):
    dependencies = [("file_upload", "0009_upload_verifying")]
    operations = [migrations.RunPython(forward, backward)]
