from django.urls import path

from lifemsg import converters  # noqa: F401  (registers <id:...>)

from . import retention_views, views

app_name = "administration"

urlpatterns = [
    path("", views.units, name="units"),
    path("enheter/export.csv", views.units_export, name="units_export"),
    path("enheter/<id:pk>/", views.unit, name="unit"),
    path("enheter/<id:pk>/export.csv", views.unit_export, name="unit_export"),
    path("enheter/<id:pk>/medlemmar/", views.member_add, name="member_add"),
    path("enheter/<id:pk>/medlemmar/<id:user_id>/ta-bort/", views.member_remove, name="member_remove"),
    path("enheter/<id:pk>/atkomst/", views.access_reset, name="access_reset"),
    path("personal/", views.staff, name="staff"),
    path("personal/<id:user_id>/", views.staff_member, name="staff_member"),
    path("personal/<id:user_id>/aktiveringslank/", views.enrolment_link, name="enrolment_link"),
    path("gallring/", retention_views.rules, name="retention_rules"),
    path("gallring/regler/<slug:kind>/", retention_views.rule_edit, name="retention_rule_edit"),
    path("gallring/korningar/", retention_views.runs, name="retention_runs"),
    path("gallring/korningar/foresla/", retention_views.run_propose, name="retention_run_propose"),
    path("gallring/korningar/<id:pk>/", retention_views.run, name="retention_run"),
    path("gallring/korningar/<id:pk>/godkann/", retention_views.run_approve, name="retention_run_approve"),
    path("gallring/korningar/<id:pk>/avbryt/", retention_views.run_cancel, name="retention_run_cancel"),
]
