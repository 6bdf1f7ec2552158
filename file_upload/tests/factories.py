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


def _open_multipart(upload) -> bool:
    client, bucket = storage.s3_client(), storage.s3_bucket()
    pages = client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket)
    return any(m["UploadId"] == upload.store_upload_id for page in pages for m in page.get("Uploads", []))


def _tails(upload) -> list[dict]:
    from file_upload import tus_store

    client, bucket = storage.s3_client(), storage.s3_bucket()
    return client.list_objects_v2(Bucket=bucket, Prefix=f"{tus_store.TAIL_PREFIX}{upload.id}/").get("Contents", [])


def kept_size(upload) -> int | None:
    """How many bytes an unfinished tus upload keeps for its next PATCH, None when it keeps
    none any more (terminated, expired, stored): its part file's size on the local disk; in the
    object store the parts its row records (each checked against the store's list of parts)
    plus its kept tail object. A part sent but not recorded is not counted: the row is the
    truth there, and the next PATCH sends that part again."""
    from file_upload import uploads

    upload.refresh_from_db()
    if not storage.is_s3():
        path = uploads.part_path(upload)
        return path.stat().st_size if path.exists() else None
    tails = _tails(upload)
    if not tails and not (upload.store_upload_id and _open_multipart(upload)):
        return None
    assert len(tails) <= 1, tails
    return sum(_stored_parts(upload).values()) + sum(int(t["Size"]) for t in tails)


def _stored_parts(upload) -> dict[int, int]:
    """The row's recorded parts as the store lists them (number → size), asserting that each
    one is there with the recorded size and ETag."""
    if not upload.store_parts:
        return {}
    client, bucket = storage.s3_client(), storage.s3_bucket()
    listed = client.list_parts(Bucket=bucket, Key=upload.storage_key, UploadId=upload.store_upload_id)
    found = {p["PartNumber"]: (int(p["Size"]), p["ETag"]) for p in listed.get("Parts", [])}
    for part in upload.store_parts:
        assert found.get(part["n"]) == (part["size"], part["etag"]), (part, found.get(part["n"]))
    return {part["n"]: part["size"] for part in upload.store_parts}


def assert_kept(upload, data: bytes) -> None:
    """An unfinished upload keeps exactly ``data``: its part file on the local disk; in the
    object store its recorded parts (sizes, and ETags that are the MD5 of their slice of
    ``data``) followed by its kept tail."""
    import hashlib

    from file_upload import tus_store, uploads

    upload.refresh_from_db()
    if not storage.is_s3():
        assert uploads.part_path(upload).read_bytes() == data
        return
    start = 0
    for number, size in sorted(_stored_parts(upload).items()):
        etag = next(p["etag"] for p in upload.store_parts if p["n"] == number)
        assert etag.strip('"') == hashlib.md5(data[start : start + size], usedforsecurity=False).hexdigest()
        start += size
    rest = data[start:]
    client, bucket = storage.s3_client(), storage.s3_bucket()
    keys = [t["Key"] for t in _tails(upload)]
    assert keys == ([f"{tus_store.TAIL_PREFIX}{upload.id}/{start}"] if rest else []), keys
    if rest:
        assert client.get_object(Bucket=bucket, Key=keys[0])["Body"].read() == rest


def leftover_bytes() -> list[str]:
    """Upload bytes that are no File's: part files on the local disk; in the object store the
    bucket's objects other than the Files' and its open multipart uploads."""
    from file_upload import uploads
    from file_upload.models import File

    if not storage.is_s3():
        return sorted(p.name for p in uploads.part_dir().iterdir())
    files = set(File.objects.values_list("storage_key", flat=True))
    client, bucket = storage.s3_client(), storage.s3_bucket()
    multipart = [m["Key"] for m in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    return sorted(key for key in stored_keys() if key not in files) + sorted(f"multipart:{key}" for key in multipart)
