"""The family's invoices, under /<commune>/mon-espace/factures/: « Mon compte » and
« Édition de documents »."""

from django.urls import path

from parvis.billing import views, views_documents, views_plans

app_name = "billing"

urlpatterns = [
    path("", views.mon_compte, name="mon_compte"),
    path("<int:pk>/", views.facture, name="facture"),
    path("<int:pk>/paiements/", views.paiements, name="paiements"),
    path("echeanciers/<int:pk>/", views_plans.echeancier, name="echeancier"),
    path("<int:pk>/pdf/", views_documents.facture_pdf, name="facture_pdf"),
    path("recus/<int:pk>/pdf/", views_documents.recu_pdf, name="recu_pdf"),
    path("documents/", views_documents.documents, name="documents"),
    path(
        "documents/credit-impot/",
        views_documents.attestation_fiscale,
        name="attestation_fiscale",
    ),
    path(
        "documents/attestation-presence/",
        views_documents.attestation_presence,
        name="attestation_presence",
    ),
]
