from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    name = "parvis.backoffice"
    verbose_name = _("Guichet des agents")
