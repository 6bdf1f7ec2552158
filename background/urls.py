from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.include_root_view = False
router.register("background-tasks", views.BackgroundTaskViewSet, basename="background-task")

urlpatterns = router.urls
