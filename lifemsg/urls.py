from django.contrib import admin
from django.urls import include, path

from .accessibility import accessibility_statement

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("lifemsg.health")),
    path("", include("lifemsg.metrics")),  # /metrics, behind METRICS_TOKEN
    path("", include("accounts.urls")),
    path("brevlador/", include("mailboxes.urls")),
    path("", include("eservices.urls")),
    path("franvaro/", include("absence.urls")),
    path("logg/", include("audit.urls")),
    path("", include("integrations.urls")),  # /api/, /sso/, /journalforing/
    path("medborgare/logguttag/", include("audit.citizen_urls")),
    path("administration/", include("administration.urls")),
    path("svar/", include("replies.urls")),
    path("tillganglighet/", accessibility_statement, name="accessibility"),
    path("django-admin/", admin.site.urls),
]

handler500 = "lifemsg.views.server_error"
