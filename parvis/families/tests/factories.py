import factory
from django.utils import timezone

from parvis.accounts.models import AgentRole, User
from parvis.communes.tests.factories import CommuneFactory, ServiceFactory
from parvis.families.models import Famille, FamilyAccess, MemberKind, Personne, SchoolLevel

PASSWORD = "mot-de-passe-de-test"


class CitizenFactory(factory.django.DjangoModelFactory):
    """A confirmed citizen account of a commune (log in with its e-mail and PASSWORD)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    commune = factory.SubFactory(CommuneFactory)
    username = factory.Sequence(lambda n: f"citizen-{n}")
    email = factory.Sequence(lambda n: f"parent{n}@example.fr")
    civility = "mme"
    first_name = "Françoise"
    last_name = factory.Sequence(lambda n: f"Durand{n}")
    email_confirmed_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])


class AgentFactory(factory.django.DjangoModelFactory):
    """An agent of a commune with the given roles (AgentRole.Role values)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    commune = factory.SubFactory(CommuneFactory)
    username = factory.Sequence(lambda n: f"agent-{n}")
    email = factory.Sequence(lambda n: f"agent{n}@mairie.fr")
    first_name = "Agnès"
    last_name = factory.Sequence(lambda n: f"Agent{n}")
    is_staff = True

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def roles(obj, create, extracted, **kwargs):
        if create:
            for role in extracted or [AgentRole.Role.ENFANCE]:
                AgentRole.objects.create(commune=obj.commune, user=obj, role=role)


class FamilleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Famille

    commune = factory.SubFactory(CommuneFactory)
    number = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"FAMILLE{n}")
    address = "3, rue des Écoles"
    postal_code = "78955"
    city = "Carrières-sous-Poissy"


class PersonneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Personne

    famille = factory.SubFactory(FamilleFactory)
    commune = factory.SelfAttribute("famille.commune")
    kind = MemberKind.RESPONSABLE
    civility = "mme"
    last_name = factory.SelfAttribute("famille.name")
    first_names = "Françoise"


class ChildFactory(PersonneFactory):
    kind = MemberKind.ENFANT
    civility = ""
    first_names = factory.Sequence(lambda n: f"Enfant{n}")
    birth_date = factory.LazyFunction(
        lambda: timezone.localdate().replace(year=timezone.localdate().year - 7)
    )
    school = "Ecole du PARC"
    class_name = "CE1"
    level = SchoolLevel.ELEMENTAIRE


class FamilyAccessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FamilyAccess

    famille = factory.SubFactory(FamilleFactory)
    commune = factory.SelfAttribute("famille.commune")
    user = factory.SubFactory(CitizenFactory, commune=factory.SelfAttribute("..famille.commune"))


__all__ = [
    "PASSWORD",
    "AgentFactory",
    "ChildFactory",
    "CitizenFactory",
    "FamilleFactory",
    "FamilyAccessFactory",
    "PersonneFactory",
    "ServiceFactory",
]
