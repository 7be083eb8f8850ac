from django.urls import path

from lifemsg import converters  # noqa: F401  (registers <id:...>)

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.search, name="search"),
    path("export.csv", views.export, name="export"),
    path("kontroller/", views.checks, name="checks"),
    path("kontroller/export.csv", views.checks_export, name="checks_export"),
    path("stickprov/", views.sample, name="sample"),
    path("granskningar/", views.reviews, name="reviews"),
    path("granskningar/ny/", views.review_record, name="review_record"),
    path("granskningar/<id:pk>/", views.review, name="review"),
    path("andringar/", views.events, name="events"),
]
