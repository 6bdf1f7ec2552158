"""URL map: the API under /api/, admin, health, schema/docs, and the SPA for everything else."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from authentication.admin import guarded_login
from authentication.urls import auth_urlpatterns as auth_urls
from cellxgene_bridge import views as cellxgene_views
from webdav.app import dav_view

from .health import healthz
from .metrics import metrics_view
from .spa import spa_index

handler400 = "file_project.errors.json_400"
handler403 = "file_project.errors.json_403"
handler404 = "file_project.errors.json_404"
handler500 = "file_project.errors.json_500"

api_patterns = [
    path("auth/", include(auth_urls)),
    path("", include("authentication.urls")),
    path("", include("file_download.urls")),
    # Before file_upload's router, whose files/<pk>/ would otherwise shadow files/ncbi/.
    path("", include("ncbi_bridge.urls")),
    path("", include("ml_interface.urls")),
    path("", include("file_upload.urls")),
    path("", include("webdav.urls")),
    path("", include("background.urls")),
    path("cellxgene/", include("cellxgene_bridge.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script under the CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/", healthz),
    path("admin/login/", guarded_login),  # before admin's own: throttled and locked out like the API
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("api/", include(api_patterns)),
    # Each published dataset's viewer behind our login (prefix stripped); /cellxgene-app is the
    # SPA's page. Anything else under /cellxgene/ is a 404.
    path("cellxgene/<int:publication_id>", cellxgene_views.redirect_to_slash),
    re_path(r"^cellxgene/(?P<publication_id>[0-9]{1,18})/(?P<path>.*)$", cellxgene_views.proxy, name="cellxgene-proxy"),
    # WebDAV (webdav/): the workspace as a drive for Finder, Explorer, davfs2, rclone.
    re_path(r"^dav(?:/.*)?$", dav_view, name="dav"),
    # Anything under /api/ that matched nothing is a JSON 404, never the SPA.
    re_path(
        r"^(?!api/|admin/|static/|healthz|metrics$|cellxgene/|cellxgene$|dav/|dav$)(?P<path>.*)$", spa_index, name="spa"
    ),
]
