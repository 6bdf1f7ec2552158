from django.contrib import admin

from .models import CellEmbedding, FileEmbedding, FileQC, MLTask


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MLTask)
class MLTaskAdmin(ReadOnlyAdmin):
    list_display = ("id", "task_type", "file", "submitter", "status", "created_at", "started_at", "finished_at")
    list_filter = ("status", "task_type")
    search_fields = ("file__name", "submitter__username", "error")
    raw_id_fields = ("file", "submitter")


@admin.register(FileQC)
class FileQCAdmin(ReadOnlyAdmin):
    list_display = ("file", "verdict", "file_format", "updated_at")
    list_filter = ("verdict", "file_format")
    raw_id_fields = ("file", "task")


@admin.register(FileEmbedding)
class FileEmbeddingAdmin(ReadOnlyAdmin):
    list_display = ("file", "model", "dimensions", "updated_at")
    list_filter = ("model",)
    exclude = ("vector",)
    raw_id_fields = ("file", "task")


@admin.register(CellEmbedding)
class CellEmbeddingAdmin(ReadOnlyAdmin):
    list_display = ("file", "keys", "n_obs", "updated_at")
    raw_id_fields = ("file", "task")
