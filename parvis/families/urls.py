"""The family's secure storage (« porte-documents »), under /<commune>/mon-espace/documents/."""

app_name = "families"

urlpatterns = []
