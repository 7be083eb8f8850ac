from django.urls import path

from lifemsg import converters  # noqa: F401  (registers <id:...>)

from . import views

app_name = "absence"

urlpatterns = [
    path("min/", views.mine, name="mine"),
    path("min/<id:pk>/andra/", views.mine_edit, name="mine_edit"),
    path("min/<id:pk>/avsluta/", views.mine_end, name="mine_end"),
    path("min/<id:pk>/", views.mine_detail, name="mine_detail"),
    path("sjukanmalan/", views.sick_call, name="sick_call"),
    path("sjukanmalan/<id:pk>/avsluta/", views.sick_call_end, name="sick_call_end"),
    path("enhet/", views.unit_overview, name="unit_overview"),
    path("enhet/uppdatera/", views.unit_overview_refresh, name="unit_overview_refresh"),
]
