"""Procedures of a commune, under /<commune>/demarches/ (one module per flow)."""

from parvis.demarches import views_catalogue, views_suivi, views_wizard

app_name = "demarches"

urlpatterns = [
    *views_catalogue.urlpatterns,
    *views_wizard.urlpatterns,
    *views_suivi.urlpatterns,
]
