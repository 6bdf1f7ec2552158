from django.contrib import admin

from . import services
from .metadata import BIOLOGICAL, METADATA_FIELDS, TECHNICAL
from .models import File, Folder, Project, ProjectGroup, ProjectMember, SavedSearch


class ProjectMemberInline(admin.TabularInline):
    model = ProjectMember
    extra = 0
    autocomplete_fields = ["user"]


class ProjectGroupInline(admin.TabularInline):
    model = ProjectGroup
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "owner",
        "access_level",
        "holds_human_data",
        "retention_days",
        "quota_bytes",
        "created_at",
        "updated_at",
    ]
    list_filter = ["access_level", "holds_human_data", "created_at"]
    search_fields = ["name", "description", "owner__username"]
    autocomplete_fields = ["owner"]
    inlines = [ProjectMemberInline, ProjectGroupInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "access_level" in form.changed_data:
            services.refresh_effective_levels(obj)


@admin.register(ProjectMember)
class ProjectMemberAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role"]
    list_filter = ["role"]
    search_fields = ["project__name", "user__username"]


@admin.register(ProjectGroup)
class ProjectGroupAdmin(admin.ModelAdmin):
    list_display = ["project", "group", "role"]
    list_filter = ["role"]
    search_fields = ["project__name", "group__name"]


@admin.register(Folder)
class FolderAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "name_path", "access_level", "created_by", "created_at"]
    list_filter = ["access_level", "project"]
    search_fields = ["name", "name_path", "project__name"]
    readonly_fields = ["tree_path", "name_path", "effective_access_level"]
    raw_id_fields = ["parent"]

    def save_model(self, request, obj, form, change):
        """Through the services, so paths and effective levels of the subtree stay right."""
        if change:
            current = type(obj).objects.get(pk=obj.pk)
            changes = {name: form.cleaned_data[name] for name in form.changed_data if name != "project"}
            services.update_folder(current, actor=request.user, **changes)
            obj.__dict__.update({k: v for k, v in current.__dict__.items() if not k.startswith("_")})
        else:
            created = services.create_folder(
                project=obj.project,
                parent=obj.parent,
                name=obj.name,
                actor=request.user,
                access_level=obj.access_level,
            )
            obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})


def _names(group: str) -> list[str]:
    return [spec.name for spec in METADATA_FIELDS if spec.group == group]


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "project",
        "folder",
        "size",
        "file_format",
        "organism",
        "assay_type",
        "effective_access_level",
        "parse_status",
        "owner",
        "deleted_at",
        "created_at",
    ]
    list_filter = [
        "parse_status",
        "effective_access_level",
        "file_format",
        "assay_type",
        "data_type",
        "platform",
        "upload_method",
        ("deleted_at", admin.EmptyFieldListFilter),
        "project",
    ]
    search_fields = [
        "name",
        "description",
        "sha256",
        "organism",
        "sample_id",
        "bioproject_accession",
        "biosample_accession",
        "sra_accession",
        "owner__username",
    ]
    readonly_fields = [
        "size",
        "sha256",
        "md5",
        "storage_key",
        "effective_access_level",
        "stats",
        "parse_status",
        "parse_error",
        "upload_method",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["folder"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False  # bytes arrive through the upload API, never through a form

    def save_model(self, request, obj, form, change):
        if "access_level" in form.changed_data:
            obj.effective_access_level = services.effective_level(obj.project, obj.folder, obj.access_level)
        super().save_model(request, obj, form, change)

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "project",
                    "folder",
                    "name",
                    "description",
                    "tags",
                    "owner",
                    "access_level",
                    "effective_access_level",
                    "deleted_at",
                ]
            },
        ),
        ("Biological metadata", {"fields": _names(BIOLOGICAL)}),
        ("Technical metadata", {"fields": _names(TECHNICAL)}),
        (
            "Content",
            {
                "fields": [
                    "size",
                    "sha256",
                    "md5",
                    "content_type",
                    "storage_key",
                    "upload_method",
                    "parse_status",
                    "parse_error",
                    "stats",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]


@admin.register(SavedSearch)
class SavedSearchAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "query", "created_at"]
    search_fields = ["name", "owner__username"]
    raw_id_fields = ["owner"]
