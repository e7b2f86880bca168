"""Online payment, under /<commune>/paiement/: « Payer » starts a transaction, the simulator's
page, the browser's return and the provider's server notification."""

from django.urls import path

from parvis.payments import views, views_plans, views_sepa

app_name = "payments"

urlpatterns = [
    path("payer/", views.payer, name="payer"),
    path("echeance/", views_plans.payer_echeance, name="payer_echeance"),
    path("retour/<str:reference>/", views.retour, name="retour"),
    path("notification/<str:provider>/", views.notification, name="notification"),
    path("simulateur/<str:reference>/", views.simulateur, name="simulateur"),
    # SEPA direct debit (issue 19): the family's mandate
    path("prelevement/<int:regie_pk>/signer/", views_sepa.signer, name="mandat_signer"),
    path("prelevement/mandats/<int:pk>/", views_sepa.mandat, name="mandat"),
    path("prelevement/mandats/<int:pk>/confirmer/", views_sepa.confirmer, name="mandat_confirmer"),
    path("prelevement/mandats/<int:pk>/revoquer/", views_sepa.revoquer, name="mandat_revoquer"),
    path("prelevement/mandats/<int:pk>/mandat.pdf", views_sepa.mandat_pdf, name="mandat_pdf"),
]
