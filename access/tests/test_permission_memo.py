"""A listing's permissions (``PermissionMemo``, answered from the caller's reach) are the ones the
policy gives for each object on its own (``rank_on``, ``permissions_on``), for every user of the
permission matrix and every project, folder and file, also after grants and roles change."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from access import policy
from authentication.models import AccessGrant
from authentication.tests.test_permission_matrix import world  # noqa: F401 (the matrix's fixture)
from file_upload.models import Folder, ProjectGroup, ProjectMember

pytestmark = pytest.mark.django_db


def objects(world):  # noqa: F811
    return [*world["projects"].values(), *Folder.objects.all(), *world["files"].values()]


def assert_memo_agrees(world):  # noqa: F811
    for user in [AnonymousUser(), *world["users"].values()]:
        memo = policy.PermissionMemo(user)
        for obj in objects(world):
            where = f"{user} × {obj._meta.model_name} {obj.name}"
            assert memo.rank(obj) == policy.rank_on(user, obj), where
            if policy.is_visible(user, obj):
                listed = policy.permissions_on(user, obj, visible=True, memo=memo)
                assert listed == policy.permissions_on(user, obj), where


def test_memo_ranks_and_permissions_equal_the_policys_own(world):  # noqa: F811
    assert_memo_agrees(world)


def test_and_still_after_grants_and_roles_change(world):  # noqa: F811
    users, folders, files, p = world["users"], world["folders"], world["files"], world["projects"]["P"]
    AccessGrant.objects.create(
        subject_user=users["viewer"], object_type="folder", project=p, folder=folders["S"], permission="manage"
    )
    AccessGrant.objects.create(subject_user=users["outsider"], object_type="project", project=p, permission="edit")
    AccessGrant.objects.create(
        subject_user=users["editor"], object_type="file", project=p, file=files["r1"], permission="manage"
    )
    ProjectMember.objects.filter(user=users["editor"]).update(role="owner")
    ProjectGroup.objects.update(role="editor")
    AccessGrant.objects.filter(subject_user=users["grantee"]).update(permission="edit")
    assert_memo_agrees(world)
