"""The tenancy walk of parvis/portal/tests/test_tenancy_walk.py for the activities' URLs: every
pattern of the families' pages (namespace « activities ») and of the agents' (« guichet_activites »)
tried with another family's or another commune's objects. New patterns are picked up
automatically; one whose parameters the walk cannot fill fails the test."""

from datetime import timedelta

import pytest
from django.utils import timezone

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.activities.models import (
    Absence,
    AbsenceReason,
    BookingPreferences,
    BookingStatus,
    Reservation,
)
from parvis.activities.tests.factories import make_activity, register
from parvis.families.tests.factories import AgentFactory, ChildFactory, FamilyAccessFactory
from parvis.portal.tests.test_tenancy_walk import commune_patterns

pytestmark = pytest.mark.django_db


def world(commune=None, *, slug="peri-maternelle"):
    """A family with an account, a child registered to an activity, a seat offered to it, an
    absence and a calendar feed; an agent covering everything."""
    access = FamilyAccessFactory(**({"famille__commune": commune} if commune else {}))
    famille, commune = access.famille, access.commune
    child = ChildFactory(famille=famille)
    activity = make_activity(commune, capacity=1, slug=slug)
    register(child, activity)
    unit = activity.units.get()
    day = timezone.localdate() + timedelta(days=30)
    offer = Reservation.objects.create(
        commune=commune, famille=famille, child=child, unit=unit, day=day,
        status=BookingStatus.PROPOSEE, offer_expires_at=timezone.now() + timedelta(hours=5),
    )  # fmt: skip
    absence = Absence.objects.create(
        commune=commune, famille=famille, child=child, first_day=day, last_day=day,
        reason=AbsenceReason.MALADIE,
    )  # fmt: skip
    preferences = BookingPreferences.objects.create(
        commune=commune, user=access.user, feed_token=f"jeton-{commune.slug}-{famille.pk}"
    )
    agent = AgentFactory(commune=commune, roles=[AgentRole.Role.ADMINISTRATEUR])
    return {
        "commune": commune,
        "famille": famille,
        "user": access.user,
        "agent": agent,
        "child": child,
        "activity": activity,
        "unit": unit,
        "day": day,
        "offer": offer,
        "absence": absence,
        "token": preferences.feed_token,
    }


def fill(pattern, objects: dict) -> str:
    route = str(pattern.pattern)
    values = {
        "<slug:activity>": objects["activity"].slug,
        "<slug:activite>": objects["activity"].slug,
        "<int:child>": str(objects["child"].pk),
        "<str:unite>": objects["unit"].code,
        "<str:jour>": objects["day"].isoformat(),
        "<str:token>": objects["token"],
    }
    if "places-proposees/<int:pk>" in route:
        values["<int:pk>"] = str(objects["offer"].pk)
    elif "absences/<int:pk>" in route:
        values["<int:pk>"] = str(objects["absence"].pk)
    for placeholder, value in values.items():
        route = route.replace(placeholder, value)
    assert "<" not in route, f"the tenancy walk cannot fill {pattern.pattern}: teach it"
    return route


NAMED_OBJECTS = ("<int:child>", "<int:pk>", "<str:token>", "<slug:activity>")

# What a forged POST would change if it got through: an offer accepted, a day booked, an
# absence justified, a register ticked.
PIRATE_POST = {
    "decision": "accepter",
    "action": "accepter",
    "c": [],
    "justified": "1",
    "reason": "PIRATE",
    "motif": "PIRATE",
}


def _pirate_post(objects):
    cell = f"{objects['unit'].pk}:{objects['day'].isoformat()}"
    return {**PIRATE_POST, "c": [cell], "ajout": [cell], f"present-{objects['child'].pk}": "1"}


def _unchanged(b):
    b["offer"].refresh_from_db()
    assert b["offer"].status == BookingStatus.PROPOSEE
    b["absence"].refresh_from_db()
    assert not b["absence"].justified
    assert Reservation.objects.filter(child=b["child"]).count() == 1
    assert not b["child"].attendances.exists()


def test_a_citizen_reaches_only_their_own_childrens_activities(client):
    """Every families' activities URL with another family's (same commune) or another
    commune's child, offer, absence or feed token: 404 (or the login page of the other
    commune), and nothing changes."""
    a = world()
    neighbour = world(commune=a["commune"], slug="peri-voisins")
    b = world(slug="peri-ailleurs")
    client.force_login(a["user"], backend="parvis.accounts.backends.CommuneBackend")
    prefix = a["commune"].slug
    patterns = commune_patterns("activities")
    for pattern in patterns:
        own = f"/{prefix}/mon-espace/{fill(pattern, a)}"
        assert client.get(own).status_code in {200, 302, 405}, own
        for objects in (neighbour, {**a, "child": neighbour["child"]}, b):
            url = f"/{prefix}/mon-espace/{fill(pattern, objects)}"
            if url == own or not any(p in str(pattern.pattern) for p in NAMED_OBJECTS):
                continue
            if pattern.name == "agenda_ics" and objects["commune"] == a["commune"]:
                continue  # a token of this commune opens its own feed: the feed's test below
            assert client.get(url).status_code == 404, url
            assert client.post(url, _pirate_post(objects)).status_code in {404, 405}, url
        if pattern.name == "agenda_ics":
            continue  # B's token opens B's feed to whoever holds it: the test below
        # The other commune's address: its login page or 404, never its data.
        url = f"/{b['commune'].slug}/mon-espace/{fill(pattern, b)}"
        for response in (client.get(url), client.post(url, _pirate_post(b))):
            assert response.status_code in {302, 404, 405}, url
            if response.status_code == 302:
                assert response["Location"].startswith(f"/{b['commune'].slug}/"), url
    for other in (neighbour, b):
        _unchanged(other)
    assert not AuditEntry.objects.filter(
        actor=a["user"], famille_id__in=[neighbour["famille"].pk, b["famille"].pk]
    ).exists()


def test_an_agent_gets_nothing_of_another_commune(client):
    a, b = world(), world(slug="peri-ailleurs")
    client.force_login(a["agent"])
    for pattern in commune_patterns("guichet_activites"):
        for prefix, objects in ((b["commune"].slug, b), (a["commune"].slug, b)):
            if prefix == a["commune"].slug and not any(
                p in str(pattern.pattern) for p in ("<int:pk>", "<slug:activite>")
            ):
                continue  # A's own pages: not a tenancy question
            url = f"/{prefix}/guichet/activites/{fill(pattern, objects)}"
            assert client.get(url).status_code in {404, 405}, url
            assert client.post(url, _pirate_post(objects)).status_code in {404, 405}, url
    _unchanged(b)


def test_the_feed_answers_only_its_own_commune_and_token(client):
    a, b = world(), world()
    own = f"/{a['commune'].slug}/mon-espace/agenda/{a['token']}.ics"
    assert client.get(own).status_code == 200
    assert client.get(f"/{a['commune'].slug}/mon-espace/agenda/{b['token']}.ics").status_code == 404
    assert client.get(f"/{b['commune'].slug}/mon-espace/agenda/{a['token']}.ics").status_code == 404
