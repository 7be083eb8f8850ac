"""The citizen's log extract lives under /medborgare/ (accounts.middleware keeps citizens there)."""

from django.urls import path

from .views import citizen

app_name = "audit_citizen"

urlpatterns = [
    path("", citizen.citizen_extract, name="extract"),
]
