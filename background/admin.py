from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.http import HttpRequest

from .models import BackgroundTask

# The stubs' generic classes are not subscriptable at run time.
if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[BackgroundTask]
else:
    _ModelAdmin = admin.ModelAdmin


@admin.register(BackgroundTask)
class BackgroundTaskAdmin(_ModelAdmin):
    list_display = ("name", "object_id", "state", "attempts", "queued_at", "started_at", "finished_at")
    list_filter = ("state", "name")
    search_fields = ("task_id", "name", "object_id", "error")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in BackgroundTask._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: BackgroundTask | None = None) -> bool:
        return False
