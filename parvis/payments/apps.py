from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "parvis.payments"
    label = "payments"
    verbose_name = _("Paiement en ligne")
    # What a commune's administrator manages in the admin (communes.services).
    commune_admin_permissions = {
        "providerconfig": ("view", "add", "change"),
        "transaction": ("view",),
        "exchange": ("view",),
    }

    def ready(self):
        # Billing never imports payments (apps depend one way): payments plugs in here.
        from parvis.billing.delivery import register_payer_email
        from parvis.payments.selectors import payer_email

        # A receipt also goes to the account that paid online.
        register_payer_email(payer_email)
