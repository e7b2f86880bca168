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
    "make_document",
    "pdf_upload",
]


def pdf_upload(name: str = "document.pdf", content: bytes | None = None):
    """A real PDF (parvis.uploads parses what it accepts)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from parvis.testing.files import pdf_bytes

    content = pdf_bytes() if content is None else content
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def make_document(
    *,
    famille,
    doc_type: str = "avis_imposition",
    personne=None,
    status: str = "depose",
    income_year: int | None = None,
    document_date=None,
    service=None,
    actor=None,
    upload=None,
    label: str = "",
):
    """A document stored through the real service (file in private storage), then reviewed to
    `status` by an agent of the family's commune when asked."""
    from django.utils import timezone

    from parvis.accounts.models import AgentRole
    from parvis.families.documents import needs_document_date, needs_income_year
    from parvis.families.services_documents import review_document, store_document

    today = timezone.localdate()
    if needs_income_year(doc_type) and income_year is None:
        income_year = today.year - 1
    if needs_document_date(doc_type) and document_date is None:
        document_date = today
    document = store_document(
        famille=famille,
        actor=actor or CitizenFactory(commune=famille.commune),
        upload=upload or pdf_upload(),
        doc_type=doc_type,
        personne=personne,
        label=label,
        document_date=document_date,
        income_year=income_year,
        service=service,
    )
    if status != "depose":
        agent = AgentFactory(commune=famille.commune, roles=[AgentRole.Role.ADMINISTRATEUR])
        reason = "Illisible" if status == "refuse" else ""
        document = review_document(document=document, actor=agent, to=status, reason=reason)
    return document
