"""Walk every URL of the guichet and of the personal space as someone of another commune (or of
another family) and expect nothing: 404 for agents, the login page for citizens.

New URL patterns are picked up automatically: a pattern whose parameters this walk cannot fill
fails the test, so a new object URL cannot ship without being tried."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.families.models import AuthorisedPerson
from parvis.families.services import generate_service_key
from parvis.families.tests.factories import (
    AgentFactory,
    ChildFactory,
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
)

pytestmark = pytest.mark.django_db


def commune_patterns(namespace: str) -> list[URLPattern]:
    """The URL patterns of `namespace`, as the root resolver includes them under /<commune>/."""
    found = []
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == namespace:
            found.extend(p for p in entry.url_patterns if isinstance(p, URLPattern))
    assert found, namespace
    return found


def world(commune=None):
    famille = FamilleFactory(**({"commune": commune} if commune else {}))
    commune = famille.commune
    agent = AgentFactory(commune=commune, roles=[AgentRole.Role.ADMINISTRATEUR])
    child = ChildFactory(famille=famille)
    person = AuthorisedPerson.objects.create(
        commune=commune, famille=famille, last_name="GARDE", first_name="Paul", phone="0600000000"
    )
    from parvis.communes.tests.factories import ServiceFactory

    service = ServiceFactory(
        commune=commune, kind="enfance", key_label="Clé Espace Citoyens Enfance"
    )
    key, _shown = generate_service_key(famille=famille, service=service, actor=agent)
    return {
        "commune": commune,
        "famille": famille,
        "agent": agent,
        "child": child,
        "person": person,
        "key": key,
    }


def fill(pattern: URLPattern, objects: dict) -> str:
    """The path of `pattern` (under /<commune>/guichet/ or /<commune>/) for `objects`."""
    route = str(pattern.pattern)
    values = {
        "<int:number>": str(objects["famille"].number),
        "<str:kind>": "enfant",
        "<int:step>": "2",
        "<str:token>": "jeton-invalide",
        "<str:uidb64>": "MQ",
    }
    if "membres/<int:pk>" in route:
        values["<int:pk>"] = str(objects["child"].pk)
    elif "personnes-autorisees/<int:pk>" in route:
        values["<int:pk>"] = str(objects["person"].pk)
    elif "enfants/<int:pk>" in route:
        values["<int:pk>"] = str(objects["child"].pk)
    elif "cles/<int:pk>" in route:
        values["<int:pk>"] = str(objects["key"].pk)
    for placeholder, value in values.items():
        route = route.replace(placeholder, value)
    assert "<" not in route, f"the tenancy walk cannot fill {pattern.pattern}: teach it"
    return route


# The guichet's login page itself, and logging out (of nothing) back to it.
OPEN_TO_ALL = {"connexion", "deconnexion"}


def test_an_agent_gets_nothing_of_another_commune(client):
    a, b = world(), world()
    client.force_login(a["agent"])
    for pattern in commune_patterns("backoffice"):
        if pattern.name in OPEN_TO_ALL:
            continue
        # B's objects under B's address, and B's objects under A's address.
        for prefix, objects in ((b["commune"].slug, b), (a["commune"].slug, {**a, **pick_pks(b)})):
            if prefix == a["commune"].slug and "<int:pk>" not in str(pattern.pattern):
                continue  # A's own pages, with A's objects: not a tenancy question
            url = f"/{prefix}/guichet/{fill(pattern, objects)}"
            assert client.get(url).status_code in {404, 405}, url
            assert client.post(url, {"name": "PIRATE", "last_name": "PIRATE"}).status_code == 404, (
                url
            )
    # Nothing of B changed.
    b["famille"].refresh_from_db()
    b["child"].refresh_from_db()
    b["key"].refresh_from_db()
    assert b["famille"].name != "PIRATE" and b["child"].last_name != "PIRATE"
    assert b["key"].revoked_at is None
    assert not b["famille"].authorised_people.exclude(pk=b["person"].pk).exists()


def pick_pks(objects: dict) -> dict:
    return {key: objects[key] for key in ("child", "person", "key")}


def test_a_citizen_gets_nothing_of_another_commune(client):
    a, b = world(), world()
    citizen = FamilyAccessFactory(famille=a["famille"]).user
    client.force_login(citizen)
    for pattern in commune_patterns("accounts"):
        url = f"/{b['commune'].slug}/{fill(pattern, b)}"
        for response in (client.get(url), client.post(url, {"last_name": "PIRATE"})):
            body = response.content.decode()
            assert response.status_code in {200, 302, 400, 404, 405, 410, 429}, url
            assert b["famille"].name not in body and citizen.last_name not in body, url
            if response.status_code == 302:
                assert response["Location"].startswith(f"/{b['commune'].slug}/"), url


# What a POST to a family's row would write if it got through: valid for every form of the
# personal space that edits a household row (authorised person, child's health).
PIRATE_POST = {
    "last_name": "PIRATE",
    "first_name": "Pirate",
    "phone": "06 66 66 66 66",
    "relationship": "Pirate",
    "has_pai": "on",
    "health_notes": "PIRATE",
}


def test_a_citizen_reaches_only_the_rows_of_their_own_families(client):
    """Every URL of the personal space that names a family or one of its rows, with the rows of
    another family of the same commune, of another commune, or mixed with the citizen's own
    family number: 404, and nothing changes. The communes let families edit these rows, so the
    404s come from the scoping, not from the settings; the citizen's own rows answer."""
    a = world()
    neighbour = world(commune=a["commune"])  # another family of the same commune
    b = world()  # another commune
    for commune in (a["commune"], b["commune"]):
        commune.families_edit_authorised_people = commune.families_edit_health = True
        commune.save()
    citizen = FamilyAccessFactory(famille=a["famille"]).user
    FamilyAccessFactory(famille=neighbour["famille"])  # the neighbours have their own account
    client.force_login(citizen, backend="parvis.accounts.backends.CommuneBackend")
    prefix = a["commune"].slug
    walked = [p for p in commune_patterns("accounts") if "<int:number>" in str(p.pattern)]
    assert len(walked) >= 4, walked
    for pattern in walked:
        own = f"/{prefix}/{fill(pattern, a)}"
        assert client.get(own).status_code == 200, own
        for objects in (
            neighbour,  # the neighbours' family and rows
            {**a, **pick_pks(neighbour)},  # own family number, the neighbours' rows
            {**a, **pick_pks(b)},  # own family number, another commune's rows
            b,  # another commune's family and rows, under this commune's address
        ):
            url = f"/{prefix}/{fill(pattern, objects)}"
            if url == own:
                continue  # a pattern without a row id, with the citizen's own family
            assert client.get(url).status_code == 404, url
            assert client.post(url, PIRATE_POST).status_code == 404, url
    # Nothing of the others changed; the citizen's account wrote nothing.
    for other in (neighbour, b):
        other["person"].refresh_from_db()
        other["child"].refresh_from_db()
        assert other["person"].last_name == "GARDE"
        assert not other["child"].has_pai and other["child"].health_notes == ""
        assert list(other["famille"].authorised_people.all()) == [other["person"]]
    assert not AuditEntry.objects.filter(actor=citizen).exists()


def test_the_guichet_is_closed_to_citizens_and_to_agents_without_role(client):
    a = world()
    citizen = CitizenFactory(commune=a["commune"])
    roleless = AgentFactory(commune=a["commune"])
    roleless.agent_roles.all().delete()
    for user in (citizen, roleless):
        client.force_login(user)
        for pattern in commune_patterns("backoffice"):
            if pattern.name in OPEN_TO_ALL:
                continue
            url = f"/{a['commune'].slug}/guichet/{fill(pattern, a)}"
            assert client.get(url).status_code in {404, 405}, (user, url)
