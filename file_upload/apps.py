from django.apps import AppConfig
from django.db.backends.signals import connection_created


class FileUploadConfig(AppConfig):
    name = "file_upload"
    verbose_name = "Workspace: projects, folders, files"

    def ready(self) -> None:
        from django.conf import settings

        from file_project.full_volume import keep_wal_index

        from .parsers import registry

        registry.configure(getattr(settings, "BIOFM_EXTRA_PARSERS", []))

        # Reads go on when the data volume is full (see file_project/full_volume.py).
        connection_created.connect(keep_wal_index, dispatch_uid="biofm_keep_wal_index")
