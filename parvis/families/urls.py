"""The family's secure storage (« porte-documents »), under /<commune>/mon-espace/documents/."""

from django.urls import path

from parvis.families import views_documents, views_quotient

app_name = "families"

DOCUMENTS = "mon-espace/documents/"

urlpatterns = [
    path(DOCUMENTS, views_documents.porte_documents, name="porte_documents"),
    path(f"{DOCUMENTS}ajouter/", views_documents.document_ajouter, name="document_ajouter"),
    path(
        f"{DOCUMENTS}<int:pk>/telecharger/",
        views_documents.document_telecharger,
        name="document_telecharger",
    ),
    path(
        f"{DOCUMENTS}<int:pk>/renommer/",
        views_documents.document_renommer,
        name="document_renommer",
    ),
    path(
        f"{DOCUMENTS}<int:pk>/supprimer/",
        views_documents.document_supprimer,
        name="document_supprimer",
    ),
    path(
        "mon-espace/quotient-familial/caf-msa/",
        views_quotient.quotient_api_particulier,
        name="quotient_api_particulier",
    ),
]
