"""Walk every URL of the guichet and of the personal space as someone of another commune (or of
another family) and expect nothing: 404 for agents, the login page for citizens.

New URL patterns are picked up automatically: a pattern whose parameters this walk cannot fill
fails the test, so a new object URL cannot ship without being tried."""

from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.activities import services_decisions as decisions
from parvis.background.models import Job
from parvis.demarches import views_suivi
from parvis.demarches.models import DemandeMessage, Status
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.demarches.tests.suivi_support import file_request, png_upload
from parvis.families.models import AuthorisedPerson
from parvis.families.services import generate_service_key
from parvis.families.tests.factories import (
    AgentFactory,
    ChildFactory,
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
)
from parvis.rgpd.models import DataExport, ExportStatus
from parvis.testing.files import pdf_bytes

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
    demande, attachment = submitted_demande(commune)
    export = DataExport.objects.create(
        commune=commune,
        user=FamilyAccessFactory(famille=famille).user,
        status=ExportStatus.PRETE,
        expires_at=timezone.now() + timedelta(days=7),
    )
    # A background job the agent started (a bulk decision): only its agent sees its page.
    job = Job.objects.create(
        commune_id=commune.pk, actor_id=agent.pk, kind=decisions.KIND, items=[1], total=1
    )
    return {
        "commune": commune,
        "famille": famille,
        "agent": agent,
        "job": job,
        "child": child,
        "person": person,
        "key": key,
        "demande": demande,
        "attachment": attachment,
        "export": export,
    }


def submitted_demande(commune):
    """A request filed without an account in `commune`, with a file (numbers restart at 1 in each
    commune: B's request has the same number as A's)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from parvis.demarches import services as demarches
    from parvis.demarches.tests.factories import ProcedureFactory

    demande = demarches.start_draft(procedure=ProcedureFactory(commune=commune), draft_key="k")
    demarches.save_step(demande=demande, step=1, answers={"objet": "Acte", "livraison": "mairie"})
    demarches.save_step(
        demande=demande,
        step=2,
        answers={},
        files={"piece": SimpleUploadedFile("piece.pdf", pdf_bytes())},
    )
    demarches.submit(demande=demande, contact_name="Jean DEMANDEUR", contact_email="")
    demande.refresh_from_db()
    return demande, demande.attachments.get()


def fill(pattern: URLPattern, objects: dict) -> str:
    """The path of `pattern` (under /<commune>/guichet/ or /<commune>/) for `objects`."""
    route = str(pattern.pattern)
    values = {
        "<int:number>": str(objects["famille"].number),
        "<str:number>": objects["demande"].number,
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
    elif "mes-donnees/<int:pk>" in route:
        values["<int:pk>"] = str(objects["export"].pk)
    elif "travaux/<int:pk>" in route:
        values["<int:pk>"] = str(objects["job"].pk)
    elif "pieces/<int:pk>" in route:
        values["<int:pk>"] = str(objects["attachment"].pk)
    elif "documents/<int:pk>" in route:
        # A document of the family of `child` (B's in A's objects mixed with B's rows), stored
        # once through the real service.
        from parvis.families.tests.factories import make_document

        famille = objects["child"].famille
        values["<int:pk>"] = str((famille.documents.first() or make_document(famille=famille)).pk)
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
    b["demande"].refresh_from_db()
    assert b["demande"].status == "en_attente" and b["demande"].assigned_to is None
    assert b["demande"].events.count() == 1 and not b["demande"].messages.exists()
    b["job"].refresh_from_db()
    assert b["job"].progress_at is None  # not resumed (« Reprendre ») by A's agent
    assert not AuditEntry.objects.filter(action="travail.repris").exists()
    # The job page answers its own agent: the 404s above come from the scoping.
    assert client.get(f"/{a['commune'].slug}/guichet/travaux/{a['job'].pk}/").status_code == 200


def pick_pks(objects: dict) -> dict:
    return {key: objects[key] for key in ("child", "person", "key", "attachment", "job")}


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


# --- Démarches: the requests' follow-up (parvis/demarches/views_suivi.py) ------------------------


def demarches_world(*, earlier: int = 0):
    """A commune with an account's request, another account's and an anonymous one, each with
    a file, after `earlier` other anonymous requests. Numbers run per commune: with different
    `earlier`, the same number names different requests in the two communes."""
    access = FamilyAccessFactory()
    commune = access.commune
    procedure = ProcedureFactory(commune=commune, title=f"Démarche secrète {commune.slug}")
    for _ in range(earlier):
        file_request(procedure, answers={"objet": "SECRET"})
    neighbour = CitizenFactory(commune=commune)
    theirs, _none = file_request(
        procedure, user=neighbour, answers={"objet": "SECRET"}, files={"piece": png_upload()}
    )
    anonymous, code = file_request(
        procedure, answers={"objet": "SECRET"}, files={"piece": png_upload()}
    )
    own, _none = file_request(
        procedure, user=access.user, answers={"objet": "MIEN"}, files={"piece": png_upload()}
    )
    return {
        "commune": commune,
        "citizen": access.user,
        "own": own,
        "theirs": theirs,
        "anonymous": anonymous,
        "code": code,
    }


def suivi_patterns() -> list[URLPattern]:
    """The follow-up's URL patterns, as included under /<commune>/demarches/ (new ones are
    walked as soon as they are added to views_suivi)."""
    names = {p.name for p in views_suivi.urlpatterns}
    patterns = [p for p in commune_patterns("demarches") if p.name in names]
    assert {p.name for p in patterns} == names
    return patterns


def fill_demarches(pattern: URLPattern, demande) -> str:
    route = str(pattern.pattern)
    attachment = demande.attachments.first()
    route = route.replace("<str:number>", demande.number)
    route = route.replace("<int:pk>", str(attachment.pk))
    assert "<" not in route, f"the tenancy walk cannot fill {pattern.pattern}: teach it"
    return route


def test_a_citizen_gets_nothing_of_another_persons_or_communes_request(client):
    a = demarches_world()
    b = demarches_world(earlier=3)
    client.force_login(a["citizen"], backend="parvis.accounts.backends.CommuneBackend")
    prefix = a["commune"].slug
    walked = suivi_patterns()
    for pattern in walked:
        if "<" not in str(pattern.pattern):
            continue  # the dashboard and the tracking form: the citizen's own, or open to all
        own = f"/{prefix}/demarches/{fill_demarches(pattern, a['own'])}"
        if str(pattern.pattern).startswith("mes-demandes/"):
            assert client.get(own).status_code == 200, own  # the walk reaches what it should
        for slug, demande in (
            (prefix, a["theirs"]),  # another account of the same commune
            (prefix, a["anonymous"]),  # a request filed without an account
            (prefix, b["theirs"]),  # another commune's number, under this commune's address
            (b["commune"].slug, b["theirs"]),  # another commune's, under its own address
        ):
            url = f"/{slug}/demarches/{fill_demarches(pattern, demande)}"
            for response in (
                client.get(url),
                client.post(url, {"message": "PIRATE", "fichier": ""}),
            ):
                assert response.status_code in {302, 404, 405}, url
                body = response.content.decode()
                assert "SECRET" not in body and demande.procedure.title not in body, url
                if response.status_code == 302:
                    assert response["Location"].startswith(f"/{slug}/"), url
                    assert "/mes-demandes/" not in response["Location"], url
        # Own number, another request's file.
        if "<int:pk>" in str(pattern.pattern):
            mixed = own.replace(
                f"/{a['own'].attachments.first().pk}/", f"/{a['theirs'].attachments.first().pk}/"
            )
            assert client.get(mixed).status_code == 404, mixed
    assert not DemandeMessage.objects.filter(body="PIRATE").exists()
    for world_ in (a, b):
        for key in ("theirs", "anonymous"):
            world_[key].refresh_from_db()
            assert world_[key].status == Status.EN_ATTENTE


def test_a_tracking_session_opens_only_the_request_it_proved(client):
    a = demarches_world()
    b = demarches_world(earlier=3)
    prefix = a["commune"].slug
    suivi = f"/{prefix}/demarches/suivi/"
    response = client.post(suivi, {"numero": a["anonymous"].number, "code": a["code"]})
    assert response.status_code == 302
    for pattern in suivi_patterns():
        if "suivi/<str:number>" not in str(pattern.pattern):
            continue
        proved = f"/{prefix}/demarches/{fill_demarches(pattern, a['anonymous'])}"
        if pattern.name != "suivi_quitter":
            assert client.get(proved).status_code == 200, proved
        for slug, demande in (
            (prefix, a["theirs"]),  # an account's request of the same commune
            (prefix, a["own"]),
            (prefix, b["anonymous"]),  # another commune's anonymous request, here
            (b["commune"].slug, b["anonymous"]),
            (b["commune"].slug, a["anonymous"]),  # the proved request, under another commune
        ):
            url = f"/{slug}/demarches/{fill_demarches(pattern, demande)}"
            for response in (client.get(url), client.post(url, {"message": "PIRATE"})):
                if response.status_code == 405:  # « quitter » takes only POST
                    continue
                assert response.status_code == 302, url
                assert response["Location"].startswith(f"/{slug}/demarches/suivi/"), url
    assert not DemandeMessage.objects.filter(body="PIRATE").exists()
