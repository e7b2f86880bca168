"""Procedures of a commune, under /<commune>/demarches/ (one module per flow)."""

from parvis.demarches import views_citizen, views_suivi

app_name = "demarches"

urlpatterns = [*views_citizen.urlpatterns, *views_suivi.urlpatterns]
