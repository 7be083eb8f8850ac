from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

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
    path("tillganglighet/", TemplateView.as_view(template_name="accessibility.html"), name="accessibility"),
    path("django-admin/", admin.site.urls),
]

handler500 = "lifemsg.views.server_error"
