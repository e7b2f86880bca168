from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackgroundConfig(AppConfig):
    name = "parvis.background"
    verbose_name = _("Travaux en arrière-plan")
    default_auto_field = "django.db.models.BigAutoField"
