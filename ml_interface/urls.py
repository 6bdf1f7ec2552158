from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("ml/tasks", views.MLTaskViewSet, basename="ml-task")

urlpatterns = [
    path("ml/trigger/", views.TriggerView.as_view(), name="ml-trigger"),
    path("ml/task-types/", views.TaskTypesView.as_view(), name="ml-task-types"),
    path("files/<int:pk>/similar/", views.SimilarFilesView.as_view(), name="file-similar"),
    *router.urls,
]
