"""Serializers for login, tokens, the current user, directories, grants and audit events."""

from typing import Any

from django.contrib.auth.models import Group
from rest_framework import serializers

from file_project.parsers import (
    StrictBooleanField,
    StrictCharField,
    StrictIntegerSerializerField,
    StrictModelSerializer,
)

from .models import AccessGrant, AuditEvent, Permission, User


class ProfileSerializer(serializers.Serializer):
    """Personal data beyond the login (encrypted at rest)."""

    full_name = StrictCharField(max_length=200, allow_blank=True, required=False)
    phone = StrictCharField(max_length=50, allow_blank=True, required=False)
    affiliation = StrictCharField(max_length=300, allow_blank=True, required=False)


class CredentialsSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class UserSerializer(StrictModelSerializer):
    groups = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    email = StrictCharField(read_only=True, help_text="E-mail address; empty when none is set")

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "is_staff", "is_superuser", "groups"]
        read_only_fields = fields


class TokenSerializer(serializers.Serializer):
    token = StrictCharField(read_only=True)


class UserRefSerializer(StrictModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name"]


class GroupRefSerializer(StrictModelSerializer):
    class Meta:
        model = Group
        fields = ["id", "name"]


class GrantSerializer(StrictModelSerializer):
    subject_type = serializers.ChoiceField(choices=["user", "group"])
    subject = StrictCharField(max_length=150, help_text="Username or group name")
    object = StrictIntegerSerializerField(min_value=1, help_text="Id of the project, folder or file")
    object_name = serializers.SerializerMethodField()
    granted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = AccessGrant
        fields = [
            "id",
            "subject_type",
            "subject",
            "object_type",
            "object",
            "object_name",
            "project",
            "permission",
            "granted_by",
            "created_at",
        ]
        read_only_fields = ["id", "project", "granted_by", "created_at"]

    def to_representation(self, grant: AccessGrant) -> dict[str, Any]:
        return {
            "id": grant.id,
            "subject_type": "user" if grant.subject_user_id else "group",
            "subject": grant.subject_user.get_username() if grant.subject_user_id else grant.subject_group.name,
            "object_type": grant.object_type,
            "object": grant.target.pk,
            "object_name": grant.target.name,
            "project": grant.project_id,
            "permission": grant.permission,
            "granted_by": grant.granted_by.get_username() if grant.granted_by_id else None,
            "created_at": serializers.DateTimeField().to_representation(grant.created_at),
        }

    def get_object_name(self, grant: AccessGrant) -> str:
        return grant.target.name

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["subject_type"] == "user":
            subject = User.objects.filter(username=attrs["subject"], is_active=True).first()
        else:
            subject = Group.objects.filter(name=attrs["subject"]).first()
        if subject is None:
            raise serializers.ValidationError({"subject": [f"No {attrs['subject_type']} named “{attrs['subject']}”."]})
        attrs["subject"] = subject
        return attrs


class GrantUpdateSerializer(serializers.Serializer):
    permission = serializers.ChoiceField(choices=Permission.choices)


class AuditEventSerializer(StrictModelSerializer):
    actor = StrictCharField(source="actor_username")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "timestamp",
            "actor",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "project_id",
            "ip",
            "user_agent",
            "details",
            "prev_hash",
            "hash",
            "mac",
        ]
        read_only_fields = fields


class AuditVerifySerializer(serializers.Serializer):
    ok = StrictBooleanField()
    checked = StrictIntegerSerializerField()
    first_broken = StrictIntegerSerializerField(allow_null=True)
    reason = serializers.ChoiceField(
        choices=["link", "hash", "mac", "missing_tail"], allow_null=True, help_text="Why the chain is broken"
    )
    head = StrictIntegerSerializerField(allow_null=True, help_text="The newest event in the table")
    checkpoint = StrictIntegerSerializerField(allow_null=True, help_text="The newest event the audit log recorded")
