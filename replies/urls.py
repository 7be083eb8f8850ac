from django.urls import path

from lifemsg import converters  # noqa: F401  (registers <id:...>)

from . import manage_views, views

app_name = "replies"

urlpatterns = [
    path("utkast/<id:mailbox_id>/<id:thread_id>/", views.draft, name="draft"),
    path("utkast/arende/<id:case_id>/", views.case_draft, name="case_draft"),
    path("infoga/<id:mailbox_id>/<id:thread_id>/", views.insert, name="insert"),
    path("infoga/arende/<id:case_id>/", views.case_insert, name="case_insert"),
    path("sparade/", manage_views.saved_list, name="saved_list"),
    path("sparade/ny/", manage_views.saved_create, name="saved_create"),
    path("sparade/<id:saved_reply_id>/", manage_views.saved_edit, name="saved_edit"),
    path("sparade/<id:saved_reply_id>/ta-bort/", manage_views.saved_delete, name="saved_delete"),
    path("paminnelse/", manage_views.notice_settings, name="notice_settings"),
]
