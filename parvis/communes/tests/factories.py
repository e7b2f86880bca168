from datetime import time

import factory
from django.utils import timezone

from parvis.accounts.models import User
from parvis.communes.models import Actualite, Closure, Commune, OpeningRange, Service


class CommuneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Commune
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Commune {n}")
    slug = factory.Sequence(lambda n: f"commune-{n}")
    address = "1, place de la Mairie"
    postal_code = "78000"
    phone = "01 23 45 67 89"
    email = factory.LazyAttribute(lambda o: f"mairie@{o.slug}.fr")
    holiday_zone = "C"


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    commune = factory.SubFactory(CommuneFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    phone = "01 23 45 67 00"
    email = factory.Sequence(lambda n: f"service{n}@example.fr")


class OpeningRangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningRange

    commune = factory.SubFactory(CommuneFactory)
    weekday = 0
    opens = time(8, 30)
    closes = time(12, 0)


class ClosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Closure

    commune = factory.SubFactory(CommuneFactory)
    start = factory.LazyFunction(timezone.localdate)
    end = factory.LazyAttribute(lambda o: o.start)
    reason = "Fermeture exceptionnelle"


class ActualiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Actualite

    commune = factory.SubFactory(CommuneFactory)
    title = factory.Sequence(lambda n: f"Actualité numéro {n}")
    body = "Premier paragraphe.\n\nSecond paragraphe."
    published_at = factory.LazyFunction(lambda: timezone.now() - timezone.timedelta(days=1))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.fr")
    password = factory.PostGenerationMethodCall("set_password", "mot-de-passe-de-test")


class StaffFactory(UserFactory):
    """A staff user whose password is stored: `UserFactory` sets it after saving and skips the
    save that follows, so `force_login` of one of its users is logged out at the next request
    (the session's hash is computed from the unsaved password)."""

    is_staff = True

    @factory.post_generation
    def store_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class OperatorFactory(StaffFactory):
    """The operator of the deployment: a superuser without a commune, who sees every commune."""

    username = factory.Sequence(lambda n: f"operateur{n}")
    is_superuser = True


class CommuneAdminFactory(StaffFactory):
    """A commune's administrator, made as in production by `make_commune_admin`."""

    username = factory.Sequence(lambda n: f"admin{n}")
    commune = factory.SubFactory(CommuneFactory)

    @factory.post_generation
    def commune_admin_rights(obj, create, extracted, **kwargs):
        if create:
            # Imported here: this class is appended below the module's imports.
            from parvis.communes.services import make_commune_admin

            make_commune_admin(user=obj, commune=obj.commune)
