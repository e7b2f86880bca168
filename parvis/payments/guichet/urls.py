"""The régie's pages, under /<commune>/guichet/regie/ (namespace `guichet_regie`): unpaid
invoices, payments at the counter, trop-perçus, reminders and exports (payments' guichet views),
and the monthly invoicing run, single invoices for stays and cancellations (billing's guichet
views: billing sits below payments, so this module holds their routes under the one namespace)."""

from django.urls import path

from parvis.billing.guichet import views as views_facturation
from parvis.payments.guichet import views as views_regie
from parvis.payments.guichet import views_plans, views_sepa

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
    # Payment plans (payments.guichet.views_plans)
    path("echeanciers/", views_plans.echeanciers, name="echeanciers"),
    path("echeanciers/<int:pk>/", views_plans.echeancier, name="echeancier"),
    path(
        "echeanciers/<int:pk>/encaisser/",
        views_plans.encaisser_echeance,
        name="encaisser_echeance",
    ),
    path("echeanciers/<int:pk>/fin/", views_plans.terminer, name="terminer_echeancier"),
    path("familles/<int:pk>/echeancier/", views_plans.accorder, name="accorder_echeancier"),
    # SEPA direct debit (payments.guichet.views_sepa, issue 19)
    path("prelevements/", views_sepa.prelevements, name="prelevements"),
    path("prelevements/lots/<int:pk>/", views_sepa.lot, name="lot"),
    path("prelevements/lots/<int:pk>/pain008.xml", views_sepa.lot_xml, name="lot_xml"),
    path("prelevements/lots/<int:pk>/transmis/", views_sepa.lot_transmis, name="lot_transmis"),
    path("prelevements/lots/<int:pk>/annuler/", views_sepa.lot_annuler, name="lot_annuler"),
    path("prelevements/lots/<int:pk>/rejets/", views_sepa.rejets_importer, name="rejets_importer"),
    path("prelevements/<int:pk>/rejet/", views_sepa.rejet, name="rejet"),
    path("prelevements/mandats/", views_sepa.mandats, name="mandats"),
    path("prelevements/mandats/papier/", views_sepa.mandat_papier, name="mandat_papier"),
    path("prelevements/mandats/<int:pk>/", views_sepa.mandat, name="mandat"),
    path(
        "prelevements/mandats/<int:pk>/reactiver/",
        views_sepa.mandat_reactiver,
        name="mandat_reactiver",
    ),
    path(
        "prelevements/mandats/<int:pk>/revoquer/",
        views_sepa.mandat_revoquer,
        name="mandat_revoquer",
    ),
    # Invoicing (billing.guichet.views)
    path("facturation/", views_facturation.facturations, name="facturations"),
    path("facturation/nouvelle/", views_facturation.apercu, name="apercu"),
    path("facturation/<int:pk>/", views_facturation.facturation, name="facturation"),
    path("facturation/<int:pk>/a-imprimer/", views_facturation.a_imprimer, name="a_imprimer"),
    path("sejours/nouvelle/", views_facturation.facture_sejour, name="facture_sejour"),
    path("factures/<int:pk>/annuler/", views_facturation.annuler_facture, name="annuler_facture"),
]
