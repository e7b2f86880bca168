"""Online payment, under /<commune>/paiement/: « Payer » starts a transaction, the simulator's
page, the browser's return and the provider's server notification."""

from django.urls import path

from parvis.payments import views

app_name = "payments"

urlpatterns = [
    path("payer/", views.payer, name="payer"),
    path("retour/<str:reference>/", views.retour, name="retour"),
    path("notification/<str:provider>/", views.notification, name="notification"),
    path("simulateur/<str:reference>/", views.simulateur, name="simulateur"),
]
