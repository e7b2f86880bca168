from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FamiliesConfig(AppConfig):
    name = "parvis.families"
    verbose_name = _("Familles")
    # What a commune's administrator manages in the admin (communes.services).
    commune_admin_permissions = {"requireddocument": ("view", "add", "change", "delete")}
