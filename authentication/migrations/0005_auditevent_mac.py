"""A keyed MAC per audit event (``BIOFM_AUDIT_KEY``). Existing rows keep ``mac`` null: they stay
verified by their hash chain, and the first sealed row's hash covers them all through
``prev_hash`` (see docs/security.md, "Audit trail")."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("authentication", "0004_user_profile")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="mac",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
    ]
