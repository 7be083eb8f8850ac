from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("logga-in/", views.StaffLoginView.as_view(), name="login"),
    path("logga-ut/", views.StaffLogoutView.as_view(), name="logout"),
    path("session/keepalive/", views.keepalive, name="keepalive"),
    path("tvastegsverifiering/", views.otp_verify, name="otp_verify"),
    path("tvastegsverifiering/aktivera/", views.otp_setup, name="otp_setup"),
    path("tvastegsverifiering/aktivera/<str:token>/", views.otp_enrol, name="otp_enrol"),
]
