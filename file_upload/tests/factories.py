"""factory_boy factories for the workspace models.

Rows built directly: ``UserFactory(username="bob", password=…, staff=True)`` (or
``superuser=True``); ``principals(names)``, users named after their part; ``ProjectFactory(name=…,
owner=alice, access_level=…, members={bob: "viewer"}, groups={wetlab: "editor"})``;
``ProjectMemberFactory``, ``GroupFactory(name=…, users=[carol])`` and ``ProjectGroupFactory``.

Through the services: ``make_folder`` and ``make_file``, so folders get their effective levels and
files their bytes in the store; ``store_beside`` puts an index beside a file's blob."""

from __future__ import annotations

import io
from pathlib import Path

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from file_upload import services, storage
from file_upload.metadata import METADATA_FIELD_NAMES
from file_upload.models import AccessLevel, Folder, Project, ProjectGroup, ProjectMember, Role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")

    @factory.post_generation
    def password(user, create, extracted, **kwargs):
        """The password to sign in with: ``s3cret-pass!`` unless one is given."""
        user.set_password(extracted or "s3cret-pass!")
        if create:
            user.save(update_fields=["password"])

    class Params:
        staff = factory.Trait(is_staff=True)
        superuser = factory.Trait(is_staff=True, is_superuser=True)


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Project {n}")
    owner = factory.SubFactory(UserFactory)
    access_level = AccessLevel.INTERNAL

    @factory.post_generation
    def members(project, create, extracted, **kwargs):
        """``members={user: role}``: each user joins the project with that role, in that order."""
        for user, role in (extracted or {}).items():
            ProjectMemberFactory(project=project, user=user, role=role)

    @factory.post_generation
    def groups(project, create, extracted, **kwargs):
        """``groups={group: role}``: each group holds that role in the project."""
        for group, role in (extracted or {}).items():
            ProjectGroupFactory(project=project, group=group, role=role)


class _ProjectRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    project = factory.SubFactory(ProjectFactory)
    role = Role.VIEWER


class ProjectMemberFactory(_ProjectRoleFactory):
    class Meta:
        model = ProjectMember

    user = factory.SubFactory(UserFactory)


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"group{n}")

    @factory.post_generation
    def users(group, create, extracted, **kwargs):
        """``users=[carol, …]``: they belong to the group."""
        if extracted:
            group.user_set.add(*extracted)


class ProjectGroupFactory(_ProjectRoleFactory):
    class Meta:
        model = ProjectGroup

    group = factory.SubFactory(GroupFactory)


def principals(names, password: str = "pw-123456!") -> dict:
    """One user per name, each signing in with ``password``; the one named ``staff`` is staff and
    the one named ``superuser`` a superuser."""
    return {
        name: UserFactory(username=name, password=password, staff=name == "staff", superuser=name == "superuser")
        for name in names
    }


def make_folder(project: Project, name: str = "raw", parent: Folder | None = None, **kwargs) -> Folder:
    return services.create_folder(project=project, parent=parent, name=name, actor=project.owner, **kwargs)


def make_file(
    project: Project,
    name: str = "reads.fastq",
    content: bytes = b"@r1\nACGT\n+\nIIII\n",
    folder: Folder | None = None,
    owner=None,
    **kwargs,
):
    metadata = {key: kwargs.pop(key) for key in list(kwargs) if key in METADATA_FIELD_NAMES}
    return services.store_file(
        project=project,
        folder=folder,
        name=name,
        source=io.BytesIO(content),
        owner=owner or project.owner,
        metadata=metadata,
        **kwargs,
    )


def store_beside(file, suffix: str, content: bytes) -> str:
    """Store ``content`` beside ``file``'s blob under its key plus ``suffix`` (an index such as
    ``.bai``, where the index task puts one), through the storage layer; the key written."""
    key = file.storage_key + suffix
    storage.write_stream(io.BytesIO(content), key)
    return key


def blob_bytes(key: str) -> bytes:
    """The stored bytes under ``key``, whichever the storage backend."""
    with storage.open_blob(key) as handle:
        return handle.read()


def stored_keys() -> list[str]:
    """Every key in the store (the local FILES_DIR or the test's bucket)."""
    from django.conf import settings

    if storage.is_s3():
        pages = storage.s3_client().get_paginator("list_objects_v2").paginate(Bucket=storage.s3_bucket())
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
    root = Path(settings.FILES_DIR)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
