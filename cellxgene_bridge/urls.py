from django.urls import path

from . import views

urlpatterns = [
    path("publish/", views.PublishView.as_view(), name="cellxgene-publish"),
    path("status/", views.StatusView.as_view(), name="cellxgene-status"),
    path("publications/", views.PublicationListView.as_view(), name="cellxgene-publications"),
    path("publications/<int:pk>/open/", views.OpenView.as_view(), name="cellxgene-open"),
    path("publications/<int:pk>/stop/", views.StopView.as_view(), name="cellxgene-stop"),
]
