"""« Créer une inscription » and the administrative file, under /<commune>/mon-espace/inscriptions/
(the activities' inscriptions join them later)."""

app_name = "inscriptions"

urlpatterns = []
