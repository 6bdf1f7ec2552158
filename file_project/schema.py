"""The OpenAPI schema's generator (drf-spectacular's ``AutoSchema``, set as DRF's
``DEFAULT_SCHEMA_CLASS``): the error answers every operation can give, declared where the
schema is built rather than patched into the finished document (docs/decisions/0011).

Every operation lists, with the one error body (``ErrorSerializer``, ``file_project.errors``):

- 400: strict input (a query parameter holding NUL, a malformed id, date, page or body) is a 400
  on every route (``file_project.parsers``);
- 401: a wrong or expired token is refused on every route that authenticates;
- 403: the policy's "visible but not allowed", the CSRF check of a session's write;
- 404: an object in the path, a related id in the body or the query, or a page past the end
  is "missing or hidden";
- 409: a write that conflicts with what is stored (a taken name, a project that still holds
  files);
- 429: operations with a throttle scope;
- 507: writes on a full data volume (``file_project.full_volume``).

Other statuses (413, 412, 423, 460 …) are named by the views that answer them in their
``extend_schema(responses=…)``; a view's own declaration of a status wins.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
INT64_MAX = 2**63 - 1
# Query parameters whose empty value means "not given": a moment (a datetime, or a date: its
# start, or for an upper bound its end) and an id.
MOMENT_OR_EMPTY = {
    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}, {"enum": [""]}]
}
ID = {"type": "integer", "minimum": 0, "maximum": INT64_MAX}
ID_OR_EMPTY = {"anyOf": [ID, {"enum": [""]}]}


class ErrorSerializer(serializers.Serializer):
    """Every error under ``/api/``: what went wrong in words, a stable code, and for a 400 the
    messages per field."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
    ref = serializers.CharField(required=False, help_text="Reference of a server error in the operator's log.")


class ApiEndpointEnumerator(EndpointEnumerator):
    """drf-spectacular leaves HEAD and OPTIONS out of every path; a view whose protocol lives in
    them (tus: HEAD for the offset, OPTIONS for the server's capabilities) names them in
    ``schema_extra_methods``."""

    def get_allowed_methods(self, callback: Any) -> list[str]:
        methods = super().get_allowed_methods(callback)
        extra = [m for m in getattr(callback.cls, "schema_extra_methods", ()) if m not in methods]
        return [*methods, *extra]


class ApiSchemaGenerator(SchemaGenerator):
    endpoint_inspector_cls = ApiEndpointEnumerator


class ApiAutoSchema(AutoSchema):
    """``AutoSchema`` with the error statuses each operation can answer (see the module)."""

    method_mapping = {**AutoSchema.method_mapping, "head": "head", "options": "options"}

    def error_statuses(self) -> list[int]:
        if self.method == "OPTIONS":
            return []  # the tus capabilities: asked without credentials, answered to anyone
        codes = [400, 403]
        if getattr(self.view, "authentication_classes", None):
            codes.append(401)
        if self._has_lookup() or self.method in WRITE_METHODS or self._paginated_list():
            codes.append(404)
        if self.method in WRITE_METHODS:
            codes += [409, 507]
        if self._throttled():
            codes.append(429)
        return sorted(codes)

    def _has_lookup(self) -> bool:
        return "{" in self.path

    def _paginated_list(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None

    def _throttled(self) -> bool:
        view = self.view
        if getattr(view, "throttle_scope", None):
            return True
        scopes = getattr(view, "throttle_scopes", None) or {}
        return getattr(view, "action", None) in scopes or self.method in scopes

    def _get_paginator(self) -> Any:
        """DRF paginates what a viewset's ``list`` (or a generic list view) answers; other
        actions answering many objects (``members``, ``privacy-check``) return a plain array."""
        action = getattr(self.view, "action", None)
        if action is not None and action != "list":
            return None
        return super()._get_paginator()

    def _get_filter_parameters(self) -> list[dict[str, Any]]:
        """A viewset's filters apply to its ``list`` only (not to ``privacy-check`` and other
        actions that answer arrays)."""
        action = getattr(self.view, "action", None)
        if action is not None and action != "list":
            return []
        parameters = super()._get_filter_parameters()
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if schema.get("type") != "array":  # django-filter reads an empty value as "not given"
                parameter["allowEmptyValue"] = True
            if schema.get("type") == "integer":  # ids: what a database column holds
                schema.setdefault("minimum", 0)
                schema.setdefault("maximum", INT64_MAX)
        return parameters

    def _resolve_path_parameters(self, variables: Any) -> list[dict[str, Any]]:
        """Integer ids in paths are ids a database holds: 0 to 2^63 - 1."""
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if schema.get("type") == "integer":
                schema.setdefault("minimum", 0)
                schema.setdefault("maximum", INT64_MAX)
        return parameters

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        """A model serializer answers every one of its readable fields: in a response none is
        optional (``required=False`` only speaks of the input). Plain serializers keep
        ``required=False`` for keys an answer may leave out."""
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response" and isinstance(serializer, serializers.ModelSerializer):
            schema["required"] = sorted(schema.get("properties", {}))
        return schema

    def _get_serializer_field_meta(self, field: Any, direction: Any) -> dict[str, Any]:
        """A serializer may name, in ``Meta.response_nullable``, fields that are null in some of
        its answers (sensitive fields a reader may not see, a project seen from outside) while
        they never accept null as input."""
        meta = super()._get_serializer_field_meta(field, direction)
        nullable = getattr(getattr(getattr(field, "parent", None), "Meta", None), "response_nullable", ())
        if direction == "response" and field.field_name in nullable:
            meta["nullable"] = True
        return meta

    def _get_request_body(self, direction: Any = "request") -> Any:
        """A tus PATCH always has a body of ``application/offset+octet-stream`` (maybe empty):
        without that Content-Type it is a 415."""
        body = super()._get_request_body(direction)
        if body and self.method == "PATCH" and "application/offset+octet-stream" in body.get("content", {}):
            body["required"] = True
        return body

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self.error_statuses():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    ErrorSerializer, str(code), ["application/json"], direction
                )
        return responses
