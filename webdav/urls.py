from django.urls import path

from .views import AppPasswordDetailView, AppPasswordListView

urlpatterns = [
    path("auth/app-passwords/", AppPasswordListView.as_view(), name="app-passwords"),
    path("auth/app-passwords/<int:pk>/", AppPasswordDetailView.as_view(), name="app-password-detail"),
]
