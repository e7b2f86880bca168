"""« Créer une inscription » and the administrative file, under /<commune>/mon-espace/inscriptions/
(the activities' inscriptions join them later)."""

from parvis.demarches import views_dossier

app_name = "inscriptions"

urlpatterns = [*views_dossier.urlpatterns]
