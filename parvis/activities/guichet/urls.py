"""The agents' activities pages, under /<commune>/guichet/activites/: registers, occupancy,
closures, the inscriptions' and bookings' queue, absences."""

from django.urls import path

from parvis.activities.guichet import (
    views,
    views_absences,
    views_garde,
    views_registres,
    views_regles,
)

app_name = "guichet_activites"

REGISTER = "<slug:activite>/registre/<str:unite>/<str:jour>/"

urlpatterns = [
    path("", views.activites, name="activites"),
    path("a-valider/", views.a_valider, name="a_valider"),
    path("a-valider/inscriptions/", views.valider_inscriptions, name="valider_inscriptions"),
    path(
        "a-valider/inscriptions/refuser/", views.refuser_inscriptions, name="refuser_inscriptions"
    ),
    path("a-valider/reservations/", views.valider_reservations, name="valider_reservations"),
    path(
        "a-valider/reservations/refuser/",
        views.refuser_reservations,
        name="refuser_reservations",
    ),
    path("registres/", views_registres.registres, name="registres"),
    path("absences/", views_absences.absences, name="absences"),
    path("absences/<int:pk>/", views_absences.absence, name="absence"),
    path("<slug:activite>/occupation/", views.occupation, name="occupation"),
    path("<slug:activite>/fermer/", views.fermer, name="fermer"),
    path("<slug:activite>/regles/", views_regles.regles, name="regles"),
    path(REGISTER, views_registres.registre, name="registre"),
    path(f"{REGISTER}csv/", views_registres.registre_csv, name="registre_csv"),
    # After the activities' own pages: an activity slugged « garde-partagee » keeps them.
    path("garde-partagee/<int:child>/", views_garde.garde, name="garde"),
    path("garde-partagee/<int:child>/terminer/", views_garde.garde_terminer, name="garde_terminer"),
]
