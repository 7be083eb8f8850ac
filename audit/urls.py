from django.urls import path

from lifemsg import converters  # noqa: F401  (registers <id:...>)

from .views import checks, events, reviews, search

app_name = "audit"

urlpatterns = [
    path("", search.search, name="search"),
    path("export.csv", search.export, name="export"),
    path("kontroller/", checks.checks, name="checks"),
    path("kontroller/export.csv", checks.checks_export, name="checks_export"),
    path("stickprov/", reviews.sample, name="sample"),
    path("granskningar/", reviews.reviews, name="reviews"),
    path("granskningar/ny/", reviews.review_record, name="review_record"),
    path("granskningar/<id:pk>/", reviews.review, name="review"),
    path("andringar/", events.events, name="events"),
]
