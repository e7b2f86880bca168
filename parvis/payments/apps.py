from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "parvis.payments"
    label = "payments"
    verbose_name = _("Paiement en ligne")
