from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunesConfig(AppConfig):
    name = "parvis.communes"
    verbose_name = _("Communes")
    # What a commune's administrator manages in the admin (communes.services).
    commune_admin_permissions = {
        "commune": ("view", "change"),
        "service": ("view", "add", "change", "delete"),
        "openingrange": ("view", "add", "change", "delete"),
        "closure": ("view", "add", "change", "delete"),
        "actualite": ("view", "add", "change", "delete"),
        "apiparticulierconfig": ("view", "add", "change"),
    }

    def ready(self):
        from django.apps import apps

        from parvis.background import jobs
        from parvis.communes import tenancy

        # Every commune table's queries say their commune_id (issue 18 §2), the batches of the
        # agents' background jobs' too.
        tenancy.install(apps.get_models())
        jobs.commune_scope = tenancy.scope
