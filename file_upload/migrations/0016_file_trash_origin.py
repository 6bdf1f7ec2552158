from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("file_upload", "0015_upload_store_multipart"),
    ]

    operations = [
        migrations.AddField(
            model_name="file",
            name="trash_origin",
            field=models.JSONField(blank=True, default=None, null=True),
        ),
    ]
