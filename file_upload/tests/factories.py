"""factory_boy factories for the workspace models."""

from __future__ import annotations

import io
from pathlib import Path

import factory
from django.contrib.auth import get_user_model

from file_upload import services, storage
from file_upload.metadata import METADATA_FIELD_NAMES
from file_upload.models import Folder, Project


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "s3cret-pass!")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    owner = factory.SubFactory(UserFactory)
    access_level = "internal"


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
