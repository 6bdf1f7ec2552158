from django.contrib import admin

from .metadata import BIOLOGICAL, METADATA_FIELDS, TECHNICAL
from .models import File, Folder, Project, ProjectGroup, ProjectMember


class ProjectMemberInline(admin.TabularInline):
    model = ProjectMember
    extra = 0
    autocomplete_fields = ["user"]


class ProjectGroupInline(admin.TabularInline):
    model = ProjectGroup
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "access_level", "retention_days", "created_at", "updated_at"]
    list_filter = ["access_level", "created_at"]
    search_fields = ["name", "description", "owner__username"]
    autocomplete_fields = ["owner"]
    inlines = [ProjectMemberInline, ProjectGroupInline]


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
    readonly_fields = ["tree_path", "name_path"]
    raw_id_fields = ["parent"]


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
