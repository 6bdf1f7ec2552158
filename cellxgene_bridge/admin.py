from django.contrib import admin

from . import pool
from .models import Publication, Viewer


@admin.register(Publication)
class PublicationAdmin(admin.ModelAdmin):
    list_display = ("id", "dataset", "file", "requested_by", "status", "restarts", "port", "created_at", "ready_at")
    list_filter = ("status",)
    search_fields = ("dataset", "requested_by__username")
    readonly_fields = [f.name for f in Publication._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Viewer)
class ViewerAdmin(admin.ModelAdmin):
    """The viewer pool: one row per port, with its dataset, memory and last use."""

    list_display = (
        "port",
        "status",
        "dataset",
        "publication",
        "rss_mb",
        "last_used_at",
        "restarts",
        "pid",
        "host",
        "node",
        "ready_at",
    )
    list_filter = ("status", "node")
    readonly_fields = [f.name for f in Viewer._meta.fields]
    actions = ["stop"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Stop the selected viewers")
    def stop(self, request, queryset) -> None:
        stopped = sum(pool.stop(viewer, actor=request.user, reason="admin") for viewer in queryset)
        self.message_user(request, f"Stopped {stopped} viewer process(es).")
