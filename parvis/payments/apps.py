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
        "creditorsettings": ("view", "add", "change"),
        "mandate": ("view",),
        "debitbatch": ("view",),
    }

    def ready(self):
        # Billing never imports payments (apps depend one way): payments plugs in here.
        from parvis.billing.delivery import register_payer_email
        from parvis.payments.selectors import payer_email

        # A receipt also goes to the account that paid online.
        register_payer_email(payer_email)

        # Direct debit (issue 19): « prélevé le … » on invoices, the panel of « Mon compte ».
        from parvis.billing.direct_debit import register_compte_panel, register_debit_dates
        from parvis.payments.selectors_sepa import compte_panel, debit_dates

        register_debit_dates(debit_dates)
        register_compte_panel(compte_panel)
