from django.urls import path

from lifemsg import converters  # noqa: F401  (registers <id:...>)

from . import oidc, staff_views, views

app_name = "eservices"

urlpatterns = [
    # Citizens: everything under /medborgare/ (accounts.middleware.SessionKindMiddleware).
    path("medborgare/", views.portal, name="portal"),
    path("medborgare/logga-in/", views.citizen_login, name="login"),
    path("medborgare/logga-ut/", views.citizen_logout, name="logout"),
    path(
        "medborgare/oidc/start/",
        oidc.CitizenOIDCAuthenticationRequestView.as_view(),
        name="oidc_authentication_init",
    ),
    path("medborgare/oidc/callback/", oidc.CitizenOIDCCallbackView.as_view(), name="oidc_callback"),
    path("medborgare/arenden/<id:case_id>/", views.case_detail, name="case"),
    path("medborgare/bilagor/<id:attachment_id>/", views.attachment_download, name="attachment"),
    path("medborgare/nytt-meddelande/", views.conversation_choose, name="conversation_choose"),
    path("medborgare/nytt-meddelande/<slug:slug>/", views.conversation_start, name="conversation_start"),
    path("medborgare/aviseringar/", views.notification_settings, name="settings"),
    # Staff: case assignment (never under /medborgare/).
    path("arenden/", staff_views.case_list, name="staff_cases"),
    path("arenden/<id:case_id>/", staff_views.case_assign_view, name="staff_case_assign"),
    path(
        "arenden/<id:case_id>/skyddad-identitet/",
        staff_views.case_protection_view,
        name="staff_case_protection",
    ),
]
