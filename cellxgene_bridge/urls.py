from django.urls import path

from . import views

urlpatterns = [
    path("publish/", views.PublishView.as_view(), name="cellxgene-publish"),
    path("status/", views.StatusView.as_view(), name="cellxgene-status"),
]
