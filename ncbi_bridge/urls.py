from django.urls import path

from . import views

urlpatterns = [
    path("files/ncbi/preview/", views.NcbiPreviewView.as_view(), name="ncbi-preview"),
    path("files/ncbi/import/", views.NcbiImportView.as_view(), name="ncbi-import"),
    path("files/ncbi/import/<str:accession>/status/", views.NcbiImportStatusView.as_view(), name="ncbi-import-status"),
]
