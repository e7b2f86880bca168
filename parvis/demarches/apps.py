from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemarchesConfig(AppConfig):
    name = "parvis.demarches"
    verbose_name = _("Démarches")
    # What a commune's administrator manages in the admin (communes.services).
    commune_admin_permissions = {"procedure": ("view", "add", "change")}

    def ready(self):
        # Communes never import démarches: a new commune gets the shipped procedures here.
        from parvis.communes.services import register_commune_setup
        from parvis.demarches.catalogue import load_catalogue

        register_commune_setup(load_catalogue)

        # Families' pages link to the change of coordinates without importing démarches.
        from parvis.demarches.selectors import coordinates_request_url
        from parvis.families.selectors_citizen import register_coordinates_request

        register_coordinates_request(coordinates_request_url)

        # The guichet's batch actions run as background jobs (the worker finds their batches).
        from parvis.background import jobs
        from parvis.demarches import services_lots

        jobs.register(services_lots.DEMANDES, services_lots.DEMANDES_KIND)
        jobs.register(services_lots.DOCUMENTS, services_lots.DOCUMENTS_KIND)
