from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemarchesConfig(AppConfig):
    name = "parvis.demarches"
    verbose_name = _("Démarches")
