from django.urls import path
from rest_framework.routers import DefaultRouter

from . import tus, views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("projects", views.ProjectViewSet, basename="project")
router.register("folders", views.FolderViewSet, basename="folder")
router.register("files", views.FileViewSet, basename="file")
router.register("trash", views.TrashViewSet, basename="trash")
router.register("saved-searches", views.SavedSearchViewSet, basename="saved-search")

urlpatterns = [
    path("metadata/fields/", views.MetadataFieldsView.as_view(), name="metadata-fields"),
    path("uploads/", tus.UploadCollectionView.as_view(), name="upload-collection"),
    path("uploads/<uuid:upload_id>/", tus.UploadResourceView.as_view(), name="upload-resource"),
    path("uploads/<uuid:upload_id>/status/", tus.UploadStatusView.as_view(), name="upload-status"),
    *router.urls,
]
