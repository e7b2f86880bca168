from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "parvis.activities"
    verbose_name = _("Activités")
    # What a commune's administrator manages in the admin (communes.services).
    commune_admin_permissions = {
        "activity": ("view", "add", "change", "delete"),
        "unit": ("view", "add", "change", "delete"),
        "activityclosure": ("view", "add", "change", "delete"),
        "inscription": ("view", "change"),
    }

    def ready(self):
        # Démarches never imports activities (apps depend one way): activities plugs in here.
        from parvis.activities import services_decisions, services_fermeture
        from parvis.activities.services_inscriptions import INSCRIPTION_SLUG, on_demande_closed
        from parvis.activities.views_inscriptions import activities_offer
        from parvis.background import jobs
        from parvis.demarches import views_dossier
        from parvis.demarches.services import register_closing_hook

        # An inscription's request closed from any queue: the inscription follows.
        register_closing_hook(INSCRIPTION_SLUG, on_demande_closed)
        # « Créer une inscription » lists the open activities after the administrative file.
        if activities_offer not in views_dossier.OFFERS:
            views_dossier.OFFERS.append(activities_offer)
        # The queue's bulk decisions run as background jobs (the worker finds their batches).
        jobs.register(services_decisions.KIND, services_decisions.JOB_KIND)
        # So does closing a day from the guichet: the bookings removed, the families told.
        jobs.register(services_fermeture.KIND, services_fermeture.JOB_KIND)
