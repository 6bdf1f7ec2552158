"""The database itself rejects UPDATE and DELETE on the audit table.

PostgreSQL: a row trigger raising an exception. SQLite: triggers that abort unless the
connection's ``biofm_audit_locked()`` function (registered by the app) says this thread runs
``audit.maintenance()``; a connection without the function (the sqlite3 shell) fails too.
"""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION biofm_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'biofm_audit_event is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER biofm_audit_append_only BEFORE UPDATE OR DELETE ON biofm_audit_event
    FOR EACH ROW EXECUTE FUNCTION biofm_audit_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS biofm_audit_append_only ON biofm_audit_event;
DROP FUNCTION IF EXISTS biofm_audit_append_only();
"""
SQLITE_UP = [
    """CREATE TRIGGER biofm_audit_no_update BEFORE UPDATE ON biofm_audit_event WHEN biofm_audit_locked()
       BEGIN SELECT RAISE(ABORT, 'biofm_audit_event is append-only (UPDATE refused)'); END;""",
    """CREATE TRIGGER biofm_audit_no_delete BEFORE DELETE ON biofm_audit_event WHEN biofm_audit_locked()
       BEGIN SELECT RAISE(ABORT, 'biofm_audit_event is append-only (DELETE refused)'); END;""",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS biofm_audit_no_update;", "DROP TRIGGER IF EXISTS biofm_audit_no_delete;"]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DOWN, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("authentication", "0002_auditevent_accessgrant")]
    operations = [migrations.RunPython(install, remove)]
