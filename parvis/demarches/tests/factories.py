import factory

from parvis.communes.tests.factories import CommuneFactory, ServiceFactory
from parvis.demarches.models import Audience, Procedure

SIMPLE_DEFINITION = {
    "steps": [
        {
            "title": "Ma demande",
            "fields": [
                {"name": "objet", "label": "Objet", "type": "text", "max_length": 100},
                {
                    "name": "livraison",
                    "label": "Livraison",
                    "type": "choice",
                    "choices": [["courrier", "Par courrier"], ["mairie", "Retrait en mairie"]],
                },
                {
                    "name": "adresse",
                    "label": "Adresse d'envoi",
                    "type": "address",
                    "show_if": {"field": "livraison", "equals": "courrier"},
                },
            ],
        },
        {
            "title": "Pièces",
            "fields": [
                {"name": "piece", "label": "Pièce d'identité", "type": "file", "required": False}
            ],
        },
    ],
    "confirmation": "Réponse sous 5 jours ouvrés.",
}


class ProcedureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Procedure

    commune = factory.SubFactory(CommuneFactory)
    service = factory.SubFactory(
        ServiceFactory, commune=factory.SelfAttribute("..commune"), kind="etat_civil"
    )
    slug = factory.Sequence(lambda n: f"demarche-{n}")
    title = factory.Sequence(lambda n: f"Démarche {n}")
    category = "Actes d'état civil"
    audience = Audience.ANYONE
    definition = factory.LazyFunction(lambda: SIMPLE_DEFINITION)
