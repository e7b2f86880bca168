from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "parvis.billing"
    label = "billing"
    verbose_name = _("Facturation")
    # What a commune's administrator manages in the admin (communes.services).
    commune_admin_permissions = {
        "regie": ("view", "add", "change", "delete"),
        "regieactivity": ("view", "add", "change", "delete"),
        "tariff": ("view", "add", "change", "delete"),
        "tariffbracket": ("view", "add", "change", "delete"),
        "penaltyrule": ("view", "add", "change", "delete"),
    }

    def ready(self):
        # Activities never import billing: the reservation basket's price preview plugs in here.
        from parvis.activities.pricing_hooks import register_basket_pricer
        from parvis.billing.preview import basket_preview

        register_basket_pricer(basket_preview)
        # The régie's reminders run as background jobs (the worker finds their batches).
        from parvis.background import jobs
        from parvis.billing import services_relances

        jobs.register(services_relances.KIND, services_relances.JOB_KIND)
