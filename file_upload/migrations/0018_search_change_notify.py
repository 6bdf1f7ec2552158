from django.db import migrations

# The feed's trigger function (migration 0008) also signals the node's index writers: a
# notification on ``biofm_search_change``, delivered when the writing transaction commits (one
# per transaction; PostgreSQL folds repeats), so a writer applies a change as soon as it can be
# seen instead of at its next poll.
FUNCTION = """
    CREATE OR REPLACE FUNCTION file_upload_search_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        INSERT INTO file_upload_searchchange (file_id, xid, at)
        SELECT id, pg_current_xact_id()::text::bigint, now() FROM old_rows;
      ELSE
        INSERT INTO file_upload_searchchange (file_id, xid, at)
        SELECT id, pg_current_xact_id()::text::bigint, now() FROM new_rows;
      END IF;
      {notify}
      RETURN NULL;
    END $$
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION.format(notify="PERFORM pg_notify('biofm_search_change', '');"), None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION.format(notify=""), None)


class Migration(migrations.Migration):
    dependencies = [("file_upload", "0017_search_change_xid_id_index")]

    operations = [migrations.RunPython(forward, backward)]
