from django.contrib import admin

from .models import NcbiImport


@admin.register(NcbiImport)
class NcbiImportAdmin(admin.ModelAdmin):
    list_display = ("accession", "kind", "status", "project", "folder", "requested_by", "updated_at")
    list_filter = ("kind", "status")
    search_fields = ("accession", "source_url")
    readonly_fields = ("created_at", "updated_at")
    raw_id_fields = ("project", "folder", "file", "requested_by")
