"""The families' activities pages, under /<commune>/mon-espace/: « Activités » (the children's
inscriptions), « Modifier les réservations » and the calendar."""

from django.urls import path

from parvis.activities import views

app_name = "activities"

BOOKING = "reservations/<slug:activity>/<int:child>/"

urlpatterns = [
    path("activites/", views.index, name="index"),
    path("reservations/", views.choisir, name="choisir"),
    path(f"{BOOKING}debut/", views.debut, name="debut"),
    path(BOOKING, views.calendrier, name="calendrier"),
    path(f"{BOOKING}panier/", views.panier, name="panier"),
    path(f"{BOOKING}confirmation/", views.confirmation, name="confirmation"),
]
