"""A key is used or revoked after it was made: the database refuses the contradiction the demo
once showed agents (« Créée le 03/12/2026 », « Utilisée le 03/01/2022 »)."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from parvis.communes.tests.factories import ServiceFactory, StaffFactory
from parvis.families.models import ServiceKey
from parvis.families.services import generate_service_key
from parvis.families.tests.factories import FamilleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def key():
    famille = FamilleFactory()
    service = ServiceFactory(commune=famille.commune, key_label="Clé Espace Citoyens Enfance")
    generate_service_key(
        famille=famille, service=service, actor=StaffFactory(commune=famille.commune)
    )
    return ServiceKey.objects.get()


@pytest.mark.parametrize("field", ["used_at", "revoked_at"])
def test_a_key_cannot_be_used_or_revoked_before_it_was_made(key, field):
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceKey.objects.filter(pk=key.pk).update(
            **{field: key.created_at - timedelta(seconds=1)}
        )


@pytest.mark.parametrize("field", ["used_at", "revoked_at"])
def test_the_same_instant_or_later_is_fine(key, field):
    ServiceKey.objects.filter(pk=key.pk).update(**{field: key.created_at})
    ServiceKey.objects.filter(pk=key.pk).update(**{field: key.created_at + timedelta(days=1)})
    key.refresh_from_db()
    assert getattr(key, field) == key.created_at + timedelta(days=1)
