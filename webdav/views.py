"""App passwords for WebDAV clients: list, create (the secret is shown once), revoke."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from file_project.parsers import StrictCharField, StrictModelSerializer

from . import services
from .models import AppPassword


class AppPasswordSerializer(StrictModelSerializer):
    name = StrictCharField(max_length=AppPassword._meta.get_field("name").max_length)

    class Meta:
        model = AppPassword
        fields = ["id", "name", "created_at", "last_used_at"]
        read_only_fields = ["id", "created_at", "last_used_at"]


class NewAppPasswordSerializer(AppPasswordSerializer):
    password = StrictCharField(read_only=True)

    class Meta(AppPasswordSerializer.Meta):
        fields = [*AppPasswordSerializer.Meta.fields, "password"]


class AppPasswordListView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=AppPasswordSerializer(many=True))
    def get(self, request: Request) -> Response:
        items = AppPassword.objects.filter(user=request.user)
        return Response(AppPasswordSerializer(items, many=True).data)

    @extend_schema(request=AppPasswordSerializer, responses={201: NewAppPasswordSerializer})
    def post(self, request: Request) -> Response:
        data = AppPasswordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item, secret = services.create_app_password(request.user, data.validated_data["name"])
        body: dict[str, Any] = {**AppPasswordSerializer(item).data, "password": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class AppPasswordDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(AppPassword, pk=pk, user=request.user)
        services.revoke_app_password(item, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
