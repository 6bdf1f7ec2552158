from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("file_upload", "0014_drop_facet_count"),
    ]

    operations = [
        migrations.AddField(
            model_name="upload",
            name="store_upload_id",
            field=models.CharField(blank=True, default="", editable=False, max_length=1024),
        ),
        migrations.AddField(
            model_name="upload",
            name="store_parts",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
    ]
