from django.urls import path

from . import views

urlpatterns = [
    path("files/<int:pk>/download/", views.FileDownloadView.as_view(), name="file-download"),
    path("files/<int:pk>/download-url/", views.DownloadUrlView.as_view(), name="file-download-url"),
    path("files/<int:pk>/genome-view/", views.GenomeViewView.as_view(), name="file-genome-view"),
    path("files/<int:pk>/genome-view/chrom-sizes/", views.ChromSizesView.as_view(), name="file-chrom-sizes"),
    path("zip/", views.ZipDownloadView.as_view(), name="download-zip"),
    path("signed/<str:token>/<path:name>", views.SignedDownloadView.as_view(), name="signed-download"),
]
