"""Session login/logout for the SPA, tokens for scripts, the current user, user and group
directories, access grants and the audit trail."""

from typing import Any

from django.contrib.auth import login, logout
from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access import policy
from access.policy import Action
from access.viewsets import MayVerifyAudit, RestrictedModelViewSet, RestrictedViewSetMixin
from file_project.http import django_request
from file_project.parsers import as_id

from . import audit, services
from .filters import AccessGrantFilterSet, AuditEventFilterSet
from .models import AccessGrant, AuditEvent, User
from .serializers import (
    AuditEventSerializer,
    AuditVerifySerializer,
    CredentialsSerializer,
    GrantSerializer,
    GrantUpdateSerializer,
    GroupRefSerializer,
    ProfileSerializer,
    TokenSerializer,
    UserRefSerializer,
    UserSerializer,
)


class InvalidCredentials(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Invalid username or password."
    default_code = "invalid_credentials"


def _checked_user(request: Request):
    serializer = CredentialsSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = services.authenticate_credentials(django_request(request), **serializer.validated_data)
    if user is None:
        raise InvalidCredentials()
    return user


@method_decorator(ensure_csrf_cookie, name="dispatch")
class CsrfView(APIView):
    """Sets the ``csrftoken`` cookie the SPA echoes in ``X-CSRFToken``."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={204: None})
    def get(self, request: Request) -> Response:
        return Response(status=status.HTTP_204_NO_CONTENT)


# Login CSRF is enforced even though the caller is anonymous (DRF only checks sessions).
@method_decorator(csrf_protect, name="dispatch")
class LoginView(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_scope = "auth"

    @extend_schema(request=CredentialsSerializer, responses=UserSerializer)
    def post(self, request: Request) -> Response:
        user = _checked_user(request)
        login(django_request(request), user)
        return Response(UserSerializer(user).data)


class LogoutView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        logout(django_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_scope = "auth"

    @extend_schema(request=CredentialsSerializer, responses=TokenSerializer)
    def post(self, request: Request) -> Response:
        user = _checked_user(request)
        return Response({"token": services.issue_token(user)})


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=UserSerializer)
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)


class ProfileView(APIView):
    """``GET/PATCH /api/auth/profile/``: the caller's own personal data (encrypted at rest)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=ProfileSerializer)
    def get(self, request: Request) -> Response:
        return Response(ProfileSerializer(services.get_profile(request.user)).data)

    @extend_schema(request=ProfileSerializer, responses=ProfileSerializer)
    def patch(self, request: Request) -> Response:
        serializer = ProfileSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        profile = services.update_profile(request.user, actor=request.user, **serializer.validated_data)
        return Response(ProfileSerializer(profile).data)


class UserDirectoryView(APIView):
    """Signed-in users look up colleagues by name to share with them."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[OpenApiParameter("q", str)], responses=UserRefSerializer(many=True))
    def get(self, request: Request) -> Response:
        query = request.query_params.get("q", "").strip()
        users = User.objects.filter(is_active=True)
        if query:
            users = users.filter(
                Q(username__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
            )
        return Response(UserRefSerializer(users.order_by("username")[:20], many=True).data)


class GroupDirectoryView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[OpenApiParameter("q", str)], responses=GroupRefSerializer(many=True))
    def get(self, request: Request) -> Response:
        query = request.query_params.get("q", "").strip()
        groups = Group.objects.all()
        if query:
            groups = groups.filter(name__icontains=query)
        return Response(GroupRefSerializer(groups.order_by("name")[:20], many=True).data)


def grant_target(user: Any, object_type: str, object_id: int, *, to_change: bool = True) -> Any:
    """The project, folder or file a grant is about, found through its restricting manager
    (hidden or missing: 404); to change its grants the user must manage it (403)."""
    from file_upload.models import File, Folder, Project

    models = {"project": Project, "folder": Folder, "file": File}
    if object_type not in models:
        raise exceptions.ValidationError({"object_type": ["Expected project, folder or file."]})
    target = get_object_or_404(models[object_type].objects.restrict(user, Action.VIEW), pk=object_id)
    if to_change and not policy.may_share(user, target):
        raise exceptions.PermissionDenied(SHARING_DENIED)
    return target


SHARING_DENIED = "Only the project's owners (or holders of a manage grant) can change sharing."


class AccessGrantViewSet(RestrictedModelViewSet):
    """Grants on projects, folders and files. Managers of an object see and change its grants;
    everyone sees the grants they hold."""

    serializer_class = GrantSerializer
    filterset_class = AccessGrantFilterSet
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_classes = [permissions.IsAuthenticated]

    queryset = AccessGrant.objects.select_related(
        "subject_user", "subject_group", "project", "folder", "file", "granted_by"
    )

    def get_queryset(self) -> QuerySet[AccessGrant]:
        grants = super().get_queryset().order_by("-created_at", "-id")
        object_type, object_id = self.request.query_params.get("object_type"), self.request.query_params.get("object")
        if self.action == "list" and object_type and as_id(object_id) is not None:
            # The grants on one object: all of them for its managers, one's own for others (and a
            # hidden object is a 404).
            target = grant_target(self.request.user, object_type, as_id(object_id), to_change=False)
            if policy.may_share(self.request.user, target):
                on_target = {f"{object_type}_id": target.pk, "object_type": object_type}
                return self.queryset.filter(**on_target).order_by("-created_at", "-id")
        return grants

    def get_object(self) -> AccessGrant:
        grant = super().get_object()
        if self.action in ("update", "partial_update", "destroy") and not policy.may_share(
            self.request.user, grant.target
        ):
            raise exceptions.PermissionDenied(SHARING_DENIED)
        return grant

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        target = grant_target(request.user, data["object_type"], data["object"])
        grant = services.create_grant(
            actor=request.user, subject=data["subject"], target=target, permission=data.get("permission", "view")
        )
        return Response(self.get_serializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=GrantUpdateSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        grant = self.get_object()
        serializer = GrantUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.update_grant(grant, actor=request.user, permission=serializer.validated_data["permission"])
        return Response(self.get_serializer(grant).data)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    def perform_destroy(self, instance: AccessGrant) -> None:
        services.delete_grant(instance, actor=self.request.user)


class AuditEventViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Staff read every event; others their own and those on projects they manage or files they own."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet
    permission_classes = [permissions.IsAuthenticated]
    ordering_fields = ["timestamp", "id"]

    queryset = AuditEvent.objects.order_by("-id")

    @extend_schema(responses=AuditVerifySerializer)
    @action(detail=False, methods=["get"], permission_classes=[MayVerifyAudit])
    def verify(self, request: Request) -> Response:
        return Response(audit.verify_chain())
