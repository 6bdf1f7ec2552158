from django.urls import path

from . import views

urlpatterns = [
    path("files/<int:pk>/download/", views.FileDownloadView.as_view(), name="file-download"),
    path("files/<int:pk>/download-url/", views.DownloadUrlView.as_view(), name="file-download-url"),
    path("zip/", views.ZipDownloadView.as_view(), name="download-zip"),
    path("signed/<str:token>/<path:name>", views.SignedDownloadView.as_view(), name="signed-download"),
]
