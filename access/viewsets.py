"""Restriction by construction for the API: one base for every viewset over a model a client
can name, and the related field every serializer resolves ids through.

- ``RestrictedViewSetMixin.get_queryset`` narrows the view's queryset with the model's
  restricting manager (``restrict(user, action)``) for the request's action, so a hidden
  object is never found (404, exactly like a missing one);
- ``get_object`` then asks the policy whether the user may do the request's action on the
  object it found (visible but not allowed: 403);
- creates and updates (``RestrictedModelViewSet``) check before they write (``check_new``,
  ``check_changes``), then write in one transaction and re-check the saved object: a write that
  leaves the object outside what the user may see is rolled back (403);
- ``RestrictedPrimaryKeyRelatedField`` resolves ids (project, folder, parent, file, subject)
  through the same restricted querysets, so a hidden id answers exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from file_project.parsers import StrictModelSerializer

from . import policy
from .policy import Action

# The policy action each standard viewset action needs on the object it names.
OBJECT_ACTIONS: dict[str, Action | None] = {
    "retrieve": Action.VIEW,
    "update": Action.EDIT,
    "partial_update": Action.EDIT,
    "destroy": Action.DELETE,
}


def deny(action: Action | str, obj: Any, user: Any = None) -> PermissionDenied:
    name = type(obj).__name__.lower()
    reason = _why_not(user, obj) if user is not None else ""
    return PermissionDenied(f"You don't have permission to {Action(action).value} this {name}{reason}.")


def _why_not(user: Any, obj: Any) -> str:
    """The caller's standing in the object's project, so a refusal names its real reason
    ("you are a viewer of project X") rather than leaving the user to guess. The object is one
    the user sees, so its project's name is no secret."""
    project = getattr(obj, "project", obj)
    if not policy.is_signed_in(user):
        return ": sign in first"
    if not hasattr(project, "owner_id"):
        return ""
    role = policy.project_role(user, project)
    if role:
        return f": you are {'an' if role[0] in 'aeiou' else 'a'} {role} of project “{project.name}”"
    return f": you have no role in project “{project.name}” that allows it"


def require(user: Any, action: Action | str, obj: Any) -> None:
    """403 unless the policy lets ``user`` do ``action`` on ``obj`` (which the user sees); the
    detail names the caller's role in the object's project."""
    if not policy.can(user, action, obj):
        raise deny(action, obj, user)


def require_upload(user: Any, project: Any, folder: Any, level: str | None = None) -> None:
    """New content (an upload, a folder, an import) into ``folder`` or the project's root, both
    found through restricted lookups: upload rights on the target (403), and a level other than
    ``inherit`` only from its managers (403)."""
    target = folder or project
    require(user, Action.UPLOAD, target)
    if not policy.may_set_level(user, target, level):
        raise PermissionDenied("Only the managers of a project or folder choose a level; create with “inherit”.")


class MayVerifyAudit(BasePermission):
    """``/api/audit/verify/``: the policy's ``may_verify_audit`` (staff and superusers)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return policy.may_verify_audit(request.user)


class RestrictedViewSetMixin:
    """Base of every API viewset over a restricted model. Subclasses set ``queryset`` (or
    override ``base_queryset``), may map their extra actions to policy actions in
    ``object_actions``, and name which restrict action their lookups use (``lookup_action``,
    default ``view``)."""

    object_actions: dict[str, Action | None] = {}
    lookup_actions: dict[str, Action] = {}

    def base_queryset(self) -> QuerySet:
        return self.queryset.all()  # type: ignore[attr-defined]

    def restrict_action(self) -> Action:
        return self.lookup_actions.get(getattr(self, "action", None) or "", Action.VIEW)

    def get_queryset(self) -> QuerySet:
        return self.base_queryset().restrict(self.request.user, self.restrict_action())  # type: ignore[attr-defined]

    def object_action(self) -> Action | None:
        name = getattr(self, "action", None) or ""
        return {**OBJECT_ACTIONS, **self.object_actions}.get(name)

    def check_object_action(self, obj: Any) -> None:
        """Projects, folders and files answer to ``policy.can``; other models are restricted
        to rows the user may act on, and their views check what is left."""
        action = self.object_action()
        if action is not None and hasattr(obj, "access_level"):
            require(self.request.user, action, obj)  # type: ignore[attr-defined]

    def get_object(self) -> Any:
        obj = super().get_object()  # type: ignore[misc]
        self.check_object_action(obj)
        return obj

    def recheck(self, obj: Any) -> None:
        """After a write: the saved object must still be one the user sees."""
        if obj is not None and hasattr(obj, "access_level") and not policy.is_visible(self.request.user, obj):  # type: ignore[attr-defined]
            raise PermissionDenied("This change would take the object out of your reach.")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        with transaction.atomic():
            self.save_new(serializer)
            self.recheck(serializer.instance)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        with transaction.atomic():
            self.save_changes(serializer)
            self.recheck(serializer.instance)

    def save_new(self, serializer: serializers.BaseSerializer) -> None:
        serializer.save()

    def save_changes(self, serializer: serializers.BaseSerializer) -> None:
        serializer.save()


class RestrictedModelViewSet(RestrictedViewSetMixin, viewsets.ModelViewSet):
    """A restricted viewset that creates and updates. A write is read first, then written: the
    lookup, the validation of the body (whose ids resolve through restricted querysets) and the
    permission checks on the change (``check_new``, ``check_changes``) run in one
    ``read_scope``, so each user's reach is worked out once for all of them; the write and the
    re-check after it run outside it, and see what the write changed; the answer is read in a
    scope of its own, after the write."""

    def create(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with policy.read_scope():
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            self.check_new(serializer)
        self.perform_create(serializer)
        with policy.read_scope():  # the answer, read after the write
            data = serializer.data
        return Response(data, status=status.HTTP_201_CREATED, headers=self.get_success_headers(data))

    def update(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        partial = kwargs.pop("partial", False)
        with policy.read_scope():
            instance = self.get_object()
            serializer = self.get_serializer(instance, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            self.check_changes(serializer)
        self.perform_update(serializer)
        with policy.read_scope():
            return Response(serializer.data)

    def check_new(self, serializer: serializers.BaseSerializer) -> None:
        """What a create needs beyond the body's restricted ids (403), before anything is written."""

    def check_changes(self, serializer: serializers.BaseSerializer) -> None:
        """What an update needs beyond ``get_object``'s action (403), before anything is written."""


class RestrictedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id resolved through the model's restricting manager for the request's user. A hidden
    object answers exactly like a missing one: 404, naming the field and the id it was given
    (the same 404 an object URL gives, and what tus and the NCBI import answer)."""

    def __init__(self, *, restrict_action: Action | str = Action.NAVIGATE, **kwargs: Any) -> None:
        self.restrict_action = Action(restrict_action)
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return queryset.restrict(user, self.restrict_action)

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if "does_not_exist" not in str(exc.get_codes()):
                raise
            name = self.get_queryset().model._meta.verbose_name
            raise NotFound(f"No {name} with id {data} exists, or you can't see it.", code="not_found") from None


class RestrictedModelSerializer(StrictModelSerializer):
    """A model serializer whose relations resolve only through restricted querysets."""

    serializer_related_field = RestrictedPrimaryKeyRelatedField


def restricted_choices(model: Any, action: Action | str = Action.NAVIGATE) -> Any:
    """A filter's choices as the request's user may name them: for django-filter's
    ``ModelChoiceFilter(queryset=...)``, so filtering by a hidden id answers like a missing one."""

    def choices(request: Any) -> QuerySet:
        return model.objects.restrict(getattr(request, "user", None), action)

    return choices
