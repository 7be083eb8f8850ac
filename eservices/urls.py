from django.urls import path

from . import views

app_name = "eservices"

urlpatterns = [
    path("medborgare/logga-in/", views.citizen_login, name="login"),
    path("medborgare/logga-ut/", views.citizen_logout, name="logout"),
    path("medborgare/", views.portal, name="portal"),
]
