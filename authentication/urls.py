from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.include_root_view = False
router.register("grants", views.AccessGrantViewSet, basename="grant")
router.register("audit", views.AuditEventViewSet, basename="audit")

auth_urlpatterns = [
    path("csrf/", views.CsrfView.as_view(), name="auth-csrf"),
    path("login/", views.LoginView.as_view(), name="auth-login"),
    path("logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("token/", views.TokenView.as_view(), name="auth-token"),
    path("me/", views.MeView.as_view(), name="auth-me"),
    path("profile/", views.ProfileView.as_view(), name="auth-profile"),
]

urlpatterns = [
    path("users/", views.UserDirectoryView.as_view(), name="user-directory"),
    path("groups/", views.GroupDirectoryView.as_view(), name="group-directory"),
    *router.urls,
]
