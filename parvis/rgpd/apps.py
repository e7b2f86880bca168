from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RgpdConfig(AppConfig):
    name = "parvis.rgpd"
    label = "rgpd"
    verbose_name = _("Données personnelles (RGPD)")
    # What a commune's administrator manages in the admin (communes.services).
    commune_admin_permissions = {
        "retentionrule": ("view", "add", "change", "delete"),
        "retentionrun": ("view",),
    }
