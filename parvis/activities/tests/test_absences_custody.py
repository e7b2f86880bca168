"""Separated parents and absences (issue 19 §2): the other household of a shared child declares
its absence (the child's absence, kept with the household that declared it, audited), through
the service and « Signaler une absence »; a household that does not share the child still
cannot."""

from datetime import date, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from parvis.accounts.models import AuditEntry
from parvis.activities import services_absences as services
from parvis.activities.models import Absence
from parvis.activities.rules import PARIS
from parvis.activities.services_custody import record_custody
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import CustodyRule, CustodySide
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
TODAY = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world():
    commune = CommuneFactory()
    mother = FamilleFactory(commune=commune, name="DURAND")
    father = FamilleFactory(commune=commune, name="MARTIN")
    stranger = FamilleFactory(commune=commune, name="LEROY")
    lea = ChildFactory(famille=mother, first_names="Léa", last_name="DURAND")
    register(lea, make_activity(commune))
    record_custody(
        child=lea, other_famille=father, actor=None, rule=CustodyRule.SEMAINES_PAIRES,
        first_side=CustodySide.FOYER, since=date(2026, 9, 1),
    )  # fmt: skip
    return {
        "commune": commune, "mother": mother, "father": father, "stranger": stranger,
        "lea": lea,
        "father_user": FamilyAccessFactory(famille=father).user,
        "stranger_user": FamilyAccessFactory(famille=stranger).user,
    }  # fmt: skip


def declare(world, famille, user):
    return services.declare_absence(
        famille=famille, child=world["lea"], first_day=TODAY, last_day=TODAY,
        reason="maladie", comment="", actor=user,
    )  # fmt: skip


def test_the_other_household_declares_the_shared_childs_absence_audited(world):
    absence = declare(world, world["father"], world["father_user"])
    assert absence.child == world["lea"] and absence.famille == world["father"]
    entry = AuditEntry.objects.get(action="absence.declare")
    assert entry.famille_id == world["father"].pk
    assert entry.changes["child_famille"] == [None, world["mother"].pk]
    # The child's absence: the mother's household cannot declare the same days again.
    with pytest.raises(ValidationError) as error:
        declare(world, world["mother"], None)
    assert "first_day" in error.value.message_dict


def test_a_household_that_does_not_share_the_child_is_refused(world):
    with pytest.raises(ValidationError) as error:
        declare(world, world["stranger"], world["stranger_user"])
    assert "child" in error.value.message_dict
    assert not Absence.objects.exists()


def test_signaler_une_absence_offers_the_shared_child_to_the_father(client, world):
    url = reverse("activities:absences", kwargs={"commune": world["commune"].slug})
    client.force_login(world["father_user"], backend=BACKEND)
    response = client.get(url)
    assert "Léa DURAND" in response.content.decode()
    response = client.post(
        url, {"child": world["lea"].pk, "quand": "aujourdhui", "reason": "maladie"}
    )
    assert response.status_code == 302
    absence = Absence.objects.get()
    assert (absence.child, absence.famille) == (world["lea"], world["father"])
    assert client.get(response["Location"]).status_code == 200
    # A stranger's account is offered no child and cannot post Léa.
    client.force_login(world["stranger_user"], backend=BACKEND)
    response = client.post(
        url, {"child": world["lea"].pk, "quand": "aujourdhui", "reason": "maladie"}
    )
    assert response.status_code == 200 and Absence.objects.count() == 1
