"""The staff listing of background work: ``GET /api/background-tasks/`` (filters ``name``,
``state``, ``object_id``). Rows come through the gate (``access.policy.restrict``): staff see
every row, everyone else none."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import mixins, permissions, viewsets

from access.viewsets import RestrictedViewSetMixin

from .filters import BackgroundTaskFilterSet
from .models import BackgroundTask
from .serializers import BackgroundTaskSerializer

# The stubs' generic classes are not subscriptable at run time.
if TYPE_CHECKING:
    _GenericViewSet = viewsets.GenericViewSet[BackgroundTask]
else:
    _GenericViewSet = viewsets.GenericViewSet


class BackgroundTaskViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, _GenericViewSet):
    serializer_class = BackgroundTaskSerializer
    filterset_class = BackgroundTaskFilterSet
    permission_classes = [permissions.IsAuthenticated]
    ordering_fields = ["created_at", "id"]
    queryset = BackgroundTask.objects.order_by("-created_at", "-id")
