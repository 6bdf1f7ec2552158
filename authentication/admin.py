import io
import math

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest, HttpResponse

from file_project.client_address import client_address
from file_project.throttling import throttle_wait

from . import lockout
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


def guarded_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """Django admin's sign-in under the API's limits: the ``auth`` throttle (the same counters as
    ``/api/auth/login/`` and ``/api/auth/token/``) and the lockout, both answered 429 with
    ``Retry-After`` before the password is checked."""
    if request.method == "POST":
        username = str(request.POST.get("username", ""))
        wait = throttle_wait(request, "auth")
        if wait is None and username:
            wait = lockout.seconds_locked(username, client_address(request)) or None
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            response = HttpResponse(
                f"Too many sign-in attempts from here; try again in {seconds} seconds.\n",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(seconds)
            return response
    return admin.site.login(request, extra_context)
