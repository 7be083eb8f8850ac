from django.urls import path

from . import views

app_name = "absence"

urlpatterns = [
    path("min/", views.mine, name="mine"),
    path("min/<int:pk>/andra/", views.mine_edit, name="mine_edit"),
    path("min/<int:pk>/avsluta/", views.mine_end, name="mine_end"),
    path("min/<int:pk>/", views.mine_detail, name="mine_detail"),
    path("sjukanmalan/", views.sick_call, name="sick_call"),
    path("sjukanmalan/<int:pk>/avsluta/", views.sick_call_end, name="sick_call_end"),
    path("enhet/", views.unit_overview, name="unit_overview"),
    path("enhet/uppdatera/", views.unit_overview_refresh, name="unit_overview_refresh"),
]
