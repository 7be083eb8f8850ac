"""The citizen's log extract lives under /medborgare/ (accounts.middleware keeps citizens there)."""

from django.urls import path

from . import views

app_name = "audit_citizen"

urlpatterns = [
    path("", views.citizen_extract, name="extract"),
]
