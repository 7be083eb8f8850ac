from django.urls import path

from lifemsg import converters  # noqa: F401  (registers <id:...>)

from .views import actions, attachments, bulk, compose, lists, search
from .views import thread as thread_views

app_name = "mailboxes"

thread = "<id:mailbox_id>/trad/<id:thread_id>/"
case = "arende/<id:case_id>/"

urlpatterns = [
    path("", lists.index, name="index"),
    path("olasta/", lists.unread_counts, name="unread"),
    path("nytt/", compose.compose, name="compose"),
    path("nytt/franvaro/", compose.away_tip, name="away_tip"),
    path("sok/", search.search, name="search"),
    path("<id:mailbox_id>/", lists.mailbox_view, name="mailbox"),
    path("<id:mailbox_id>/markerade/", bulk.bulk_state, name="bulk"),
    path(thread, thread_views.thread_view, name="thread"),
    path(thread + "svara/", actions.reply, name="reply"),
    path(thread + "skicka/", actions.send_citizen, name="send_citizen"),
    path(thread + "anteckning/", actions.note, name="note"),
    path(thread + "ta/", actions.thread_state, {"action": "take"}, name="take"),
    path(thread + "slapp/", actions.thread_state, {"action": "release"}, name="release"),
    path(thread + "hanterad/", actions.thread_state, {"action": "handled"}, name="handled"),
    path(thread + "ateroppna/", actions.thread_state, {"action": "reopen"}, name="reopen"),
    path(thread + "olast/", actions.mark_unread, name="mark_unread"),
    path(thread + "vidarebefordra/", actions.forward, name="forward"),
    path(thread + "utskrift/", thread_views.thread_print, name="print"),
    path("<id:mailbox_id>/bilaga/<id:attachment_id>/", attachments.attachment_download, name="attachment"),
    # A citizen thread opened as the case's handler or co-handler (route assigned_case).
    path(case, thread_views.case_thread_view, name="case_thread"),
    path(case + "skicka/", actions.case_send_citizen, name="case_send_citizen"),
    path(case + "anteckning/", actions.case_note, name="case_note"),
    path(case + "bilaga/<id:attachment_id>/", attachments.case_attachment_download, name="case_attachment"),
]
