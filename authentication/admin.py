import io

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpResponse

from .dsar import dsar_filename, write_dsar_archive
from .models import AccessGrant, AuditEvent, User, UserProfile


class UserProfileInline(admin.StackedInline):
    model = UserProfile
    can_delete = False
    fields = ["full_name", "phone", "affiliation"]


@admin.action(description="Export personal data (DSAR zip)")
def export_personal_data(modeladmin, request, queryset):
    """One user at a time: the zip is that person's data and nobody else's."""
    if queryset.count() != 1:
        modeladmin.message_user(request, "Select exactly one user to export.", level=messages.ERROR)
        return None
    user = queryset.get()
    buffer = io.BytesIO()
    write_dsar_archive(user, buffer, actor=request.user)
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{dsar_filename(user)}"'
    return response


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [UserProfileInline]
    actions = [export_personal_data]
    search_fields = ["username", "email", "first_name", "last_name"]
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_active", "last_login"]


admin.site.site_header = "BioFileManager administration"
admin.site.site_title = "BioFileManager admin"


@admin.register(AccessGrant)
class AccessGrantAdmin(admin.ModelAdmin):
    list_display = ["__str__", "object_type", "project", "permission", "granted_by", "created_at"]
    list_filter = ["object_type", "permission", "created_at"]
    search_fields = ["subject_user__username", "subject_group__name", "project__name", "folder__name", "file__name"]
    raw_id_fields = ["folder", "file"]
    autocomplete_fields = ["subject_user", "project"]
    readonly_fields = ["key", "granted_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the table is append-only and the database refuses changes anyway."""

    list_display = ["id", "timestamp", "actor_username", "action", "object_type", "object_id", "object_repr", "ip"]
    list_filter = ["action", "object_type", "timestamp"]
    search_fields = ["actor_username", "action", "object_repr", "object_id", "hash"]
    date_hierarchy = "timestamp"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
