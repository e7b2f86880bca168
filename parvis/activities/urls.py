"""The families' activities pages, under /<commune>/mon-espace/: « Activités » (the children's
inscriptions and « Inscrire un enfant »), « Modifier les réservations » and the calendar, the
household grid, offered seats, absences, the calendar feed."""

from django.urls import path

from parvis.activities import (
    views,
    views_absences,
    views_agenda,
    views_foyer,
    views_inscriptions,
    views_offres,
)

app_name = "activities"

BOOKING = "reservations/<slug:activity>/<int:child>/"

urlpatterns = [
    path("activites/", views.index, name="index"),
    path("activites/inscrire/", views_inscriptions.inscrire, name="inscrire"),
    path("reservations/", views.choisir, name="choisir"),
    path("reservations/foyer/", views_foyer.foyer, name="foyer"),
    path("reservations/foyer/panier/", views_foyer.panier, name="foyer_panier"),
    path("reservations/foyer/confirmation/", views_foyer.confirmation, name="foyer_confirmation"),
    path("reservations/places-proposees/", views_offres.offres, name="offres"),
    path("reservations/places-proposees/<int:pk>/", views_offres.offre, name="offre"),
    path(f"{BOOKING}debut/", views.debut, name="debut"),
    path(BOOKING, views.calendrier, name="calendrier"),
    path(f"{BOOKING}panier/", views.panier, name="panier"),
    path(f"{BOOKING}confirmation/", views.confirmation, name="confirmation"),
    path("absences/", views_absences.absences, name="absences"),
    path("absences/<int:pk>/", views_absences.absence, name="absence"),
    path("agenda/", views_agenda.agenda, name="agenda"),
    path("agenda/<str:token>.ics", views_agenda.flux, name="agenda_ics"),
]
