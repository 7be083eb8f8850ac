from django.urls import path

from lifemsg import converters  # noqa: F401  (registers <id:...>)

from . import views

app_name = "mailboxes"

thread = "<id:mailbox_id>/trad/<id:thread_id>/"
case = "arende/<id:case_id>/"

urlpatterns = [
    path("", views.index, name="index"),
    path("olasta/", views.unread_counts, name="unread"),
    path("nytt/", views.compose, name="compose"),
    path("nytt/franvaro/", views.away_tip, name="away_tip"),
    path("sok/", views.search, name="search"),
    path("<id:mailbox_id>/", views.mailbox_view, name="mailbox"),
    path(thread, views.thread_view, name="thread"),
    path(thread + "svara/", views.reply, name="reply"),
    path(thread + "skicka/", views.send_citizen, name="send_citizen"),
    path(thread + "anteckning/", views.note, name="note"),
    path(thread + "ta/", views.thread_state, {"action": "take"}, name="take"),
    path(thread + "slapp/", views.thread_state, {"action": "release"}, name="release"),
    path(thread + "hanterad/", views.thread_state, {"action": "handled"}, name="handled"),
    path(thread + "ateroppna/", views.thread_state, {"action": "reopen"}, name="reopen"),
    path(thread + "vidarebefordra/", views.forward, name="forward"),
    path(thread + "utskrift/", views.thread_print, name="print"),
    path("<id:mailbox_id>/bilaga/<id:attachment_id>/", views.attachment_download, name="attachment"),
    # A citizen thread opened as the case's handler or co-handler (route assigned_case).
    path(case, views.case_thread_view, name="case_thread"),
    path(case + "skicka/", views.case_send_citizen, name="case_send_citizen"),
    path(case + "anteckning/", views.case_note, name="case_note"),
    path(case + "bilaga/<id:attachment_id>/", views.case_attachment_download, name="case_attachment"),
]
