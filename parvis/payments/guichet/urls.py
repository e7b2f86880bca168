"""The régie's pages, under /<commune>/guichet/regie/ (namespace `guichet_regie`): unpaid
invoices, payments at the counter, trop-perçus, reminders and exports (payments' guichet views),
and the monthly invoicing run, single invoices for stays and cancellations (billing's guichet
views: billing sits below payments, so this module holds their routes under the one namespace)."""

from django.urls import path

from parvis.billing.guichet import views as views_facturation
from parvis.payments.guichet import views as views_regie

app_name = "guichet_regie"

urlpatterns = [
    # The régie's daily work (payments.guichet.views)
    path("", views_regie.impayes, name="impayes"),
    path("factures/<int:pk>/", views_regie.facture, name="facture"),
    path("factures/<int:pk>/facture.pdf", views_regie.facture_pdf, name="facture_pdf"),
    path("factures/<int:pk>/encaisser/", views_regie.encaisser, name="encaisser"),
    path("familles/<int:pk>/encaisser/", views_regie.encaisser_famille, name="encaisser_famille"),
    path("paiements/", views_regie.paiements, name="paiements"),
    path("paiements/<int:pk>/", views_regie.paiement, name="paiement"),
    path("paiements/<int:pk>/recu.pdf", views_regie.recu_pdf, name="recu_pdf"),
    path("paiements/<int:pk>/annuler/", views_regie.annuler_paiement, name="annuler_paiement"),
    path("trop-percus/", views_regie.trop_percus, name="trop_percus"),
    path("trop-percus/<int:pk>/", views_regie.trop_percu, name="trop_percu"),
    path("trop-percus/<int:pk>/rembourser/", views_regie.rembourser, name="rembourser"),
    path("relances/", views_regie.relances, name="relances"),
    path("export/", views_regie.export, name="export"),
    # Invoicing (billing.guichet.views)
    path("facturation/", views_facturation.facturations, name="facturations"),
    path("facturation/nouvelle/", views_facturation.apercu, name="apercu"),
    path("facturation/<int:pk>/", views_facturation.facturation, name="facturation"),
    path("facturation/<int:pk>/a-imprimer/", views_facturation.a_imprimer, name="a_imprimer"),
    path("sejours/nouvelle/", views_facturation.facture_sejour, name="facture_sejour"),
    path("factures/<int:pk>/annuler/", views_facturation.annuler_facture, name="annuler_facture"),
]
