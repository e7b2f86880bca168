"""The agents' activities pages, under /<commune>/guichet/activites/: registers, occupancy,
closures, the inscriptions' and bookings' queue."""

from django.urls import path

from parvis.backoffice import views_activites as views

app_name = "guichet_activites"

urlpatterns = [
    path("", views.activites, name="activites"),
    path("a-valider/", views.a_valider, name="a_valider"),
    path("a-valider/inscriptions/", views.valider_inscriptions, name="valider_inscriptions"),
    path("a-valider/reservations/", views.valider_reservations, name="valider_reservations"),
    path("<slug:activite>/occupation/", views.occupation, name="occupation"),
    path("<slug:activite>/fermer/", views.fermer, name="fermer"),
    path("<slug:activite>/registre/<str:unite>/<str:jour>/", views.registre, name="registre"),
    path(
        "<slug:activite>/registre/<str:unite>/<str:jour>/csv/",
        views.registre_csv,
        name="registre_csv",
    ),
]
