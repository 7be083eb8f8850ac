from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from lifemsg import converters  # noqa: F401  (registers <id:...>)

from . import sso, views
from .api import casefile as api_casefile
from .api import views as api
from .models import EXTERNAL_ID_PATTERN

app_name = "integrations"

EXTERNAL_ID = rf"(?P<external_id>{EXTERNAL_ID_PATTERN})"

urlpatterns = [
    # REST API for the case system
    re_path(rf"^api/v1/cases/{EXTERNAL_ID}/$", api.CaseDetailView.as_view(), name="api_case"),
    re_path(rf"^api/v1/cases/{EXTERNAL_ID}/close/$", api.CaseCloseView.as_view(), name="api_case_close"),
    re_path(rf"^api/v1/cases/{EXTERNAL_ID}/thread/$", api.CaseThreadView.as_view(), name="api_case_thread"),
    path(
        "api/v1/case-file/<uuid:entry_id>/receipt/",
        api_casefile.CaseFileReceiptView.as_view(),
        name="api_case_file_receipt",
    ),
    path(
        "api/v1/case-file/<uuid:entry_id>/document/",
        api_casefile.CaseFileDocumentView.as_view(),
        name="api_case_file_document",
    ),
    path("api/schema/", SpectacularAPIView.as_view(authentication_classes=[]), name="api_schema"),
    path("api/docs/", views.ApiDocsView.as_view(url_name="integrations:api_schema"), name="api_docs"),
    # Staff single sign-on
    path("sso/logga-in/", sso.StaffSSOLoginView.as_view(), name="sso_login"),
    path("sso/callback/", sso.StaffSSOCallbackView.as_view(), name="sso_callback"),
    path("sso/misslyckades/", sso.sso_failed, name="sso_failed"),
    # Export to the case file
    path("journalforing/trad/<id:thread_id>/", views.export_thread, name="export_thread"),
    path(
        "journalforing/trad/<id:thread_id>/pdf/", views.export_thread_download, name="export_thread_download"
    ),
]
