"""« Inscrire un enfant à une activité »: the open activities, the children the activity takes
(and why not the others), one numbered request per child with its inscription « en attente »,
the confirmation, a double click filing once, a refused inscription asked for again on the same
row, who may see and file what, the entry in « Créer une inscription », the catalogue's and the
wizard's links to the page, and the request's closing that the inscription follows."""

import re
from datetime import date, datetime
from urllib.parse import urlencode

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parvis.accounts.models import AuditEntry
from parvis.activities.models import Inscription, InscriptionStatus
from parvis.activities.rules import PARIS
from parvis.activities.services_inscriptions import (
    INSCRIPTION_SLUG,
    InscriptionRefused,
    request_inscriptions,
)
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches import services as demarches_services
from parvis.demarches.catalogue import load_catalogue
from parvis.demarches.models import Demande, Procedure, Status
from parvis.families.models import SchoolLevel
from parvis.families.tests.factories import (
    AgentFactory,
    ChildFactory,
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
)

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)


def text_of(response) -> str:
    html = response.content.decode()
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def family():
    commune = CommuneFactory()
    famille = FamilleFactory(commune=commune, name="DURAND")
    lea = ChildFactory(famille=famille, first_names="Léa", level=SchoolLevel.MATERNELLE)
    tom = ChildFactory(famille=famille, first_names="Tom", level=SchoolLevel.ELEMENTAIRE)
    access = FamilyAccessFactory(famille=famille)
    activity = make_activity(
        commune,
        levels=["maternelle"],
        description="Accueil du matin avant la classe, de 7 h 30 à 8 h 20.",
    )
    load_catalogue(commune)
    return {
        "commune": commune, "famille": famille, "lea": lea, "tom": tom, "user": access.user,
        "activity": activity,
    }  # fmt: skip


@pytest.fixture
def logged(client, family):
    client.force_login(family["user"], backend=BACKEND)
    return client


def page_url(family, **query):
    url = reverse("activities:inscrire", kwargs={"commune": family["commune"].slug})
    return f"{url}?{urlencode(query)}" if query else url


def post(client, family, *children, activity=None):
    return client.post(
        page_url(family),
        {
            "activite": (activity or family["activity"]).slug,
            "enfants": [str(child.pk) for child in children],
        },
    )


def inscription_demandes():
    return Demande.objects.filter(procedure__slug=INSCRIPTION_SLUG).exclude(number="")


# --- Choosing the activity and the children -----------------------------------------------------


def test_the_page_lists_open_activities_with_period_and_description(logged, family):
    ended = make_activity(
        family["commune"], name="Centre de loisirs été", slug="ete",
        start=date(2026, 7, 6), end=date(2026, 8, 28),
    )  # fmt: skip
    other_commune = make_activity(CommuneFactory(), name="Activité d'ailleurs", slug="ailleurs")

    response = logged.get(page_url(family))

    assert response.status_code == 200
    text = text_of(response)
    assert "Accueil Périscolaire Maternelle" in text
    assert "Période : du 01/09/2026 au 03/07/2027" in text
    assert "Accueil du matin avant la classe" in text
    assert page_url(family, activite="peri-maternelle").replace("&", "&amp;") in (
        response.content.decode()
    )
    assert ended.name not in text
    assert other_commune.name not in text


def test_the_children_the_activity_takes_have_a_box_the_others_say_why(logged, family):
    other = make_activity(family["commune"], name="Restauration scolaire", slug="cantine")
    register(family["lea"], other)

    response = logged.get(page_url(family, activite="peri-maternelle"))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'value="{family["lea"].pk}"' in html
    assert f'value="{family["tom"].pk}"' not in html
    text = text_of(response)
    assert "Tom DURAND — niveau Élémentaire : cette activité accueille le niveau Maternelle" in (
        text
    )
    # No level asked: both children offered, unless already registered.
    response = logged.get(page_url(family, activite="cantine"))
    html = response.content.decode()
    assert f'value="{family["tom"].pk}"' in html
    assert f'value="{family["lea"].pk}"' not in html
    assert "Léa DURAND — déjà inscrit à cette activité (inscription acceptée)" in text_of(response)


def test_a_child_without_a_level_is_not_offered_an_activity_with_levels(logged, family):
    family["lea"].level = ""
    family["lea"].save()
    text = text_of(logged.get(page_url(family, activite="peri-maternelle")))
    assert "Léa DURAND — niveau scolaire non renseigné" in text
    assert "Aucun enfant de vos foyers ne peut être inscrit" in text


# --- Filing ------------------------------------------------------------------------------------


def test_request_files_a_numbered_demande_and_a_pending_inscription(
    logged, family, django_capture_on_commit_callbacks
):
    # needs_instruction=False (bookings accepted at once) does not accept the inscription.
    assert family["activity"].needs_instruction is False

    with django_capture_on_commit_callbacks(execute=True):
        response = post(logged, family, family["lea"])

    assert response.status_code == 302
    demande = inscription_demandes().get()
    assert demande.number == "DEM-2026-000001"
    assert response.url == page_url(family, demandes=demande.number)
    assert demande.status == Status.EN_ATTENTE
    assert demande.requester == family["user"]
    assert demande.famille == family["famille"]
    assert demande.answers["enfant"] == "Léa DURAND"
    assert demande.answers["activite"] == "Accueil Périscolaire Maternelle"
    assert demande.answers["periode"] == "du 01/09/2026 au 03/07/2027"
    inscription = Inscription.objects.get()
    assert inscription.demande == demande
    assert inscription.status == InscriptionStatus.EN_ATTENTE
    assert (inscription.child, inscription.famille) == (family["lea"], family["famille"])
    assert AuditEntry.objects.filter(action="inscription.request").count() == 1
    assert [m.to for m in mail.outbox] == [[family["user"].email]]
    assert demande.number in mail.outbox[0].subject

    confirmation = logged.get(response.url)
    assert confirmation.status_code == 200
    text = text_of(confirmation)
    assert "DEM-2026-000001 — Léa DURAND, Accueil Périscolaire Maternelle" in text
    assert "état : En attente d'instruction" in text
    ma_demande = reverse(
        "demarches:ma_demande",
        kwargs={"commune": family["commune"].slug, "number": demande.number},
    )
    assert ma_demande in confirmation.content.decode()

    # « Vérification des inscriptions » and the dashboard of requests list it.
    index = logged.get(reverse("activities:index", kwargs={"commune": family["commune"].slug}))
    text = text_of(index)
    assert "◷ En attente d'instruction" in text
    assert "Demande n° DEM-2026-000001" in text
    assert ma_demande in index.content.decode()
    dashboard = logged.get(
        reverse("demarches:tableau_de_bord", kwargs={"commune": family["commune"].slug})
    )
    assert "DEM-2026-000001" in text_of(dashboard)
    # The page no longer offers Léa: her request is waiting.
    text = text_of(logged.get(page_url(family, activite="peri-maternelle")))
    assert "Léa DURAND — demande d'inscription déjà en attente d'instruction (DEM-2026-000001)" in (
        text
    )


def test_several_children_get_one_request_each(logged, family):
    family["activity"].levels = []
    family["activity"].save()

    response = post(logged, family, family["lea"], family["tom"])

    assert response.status_code == 302
    numbers = sorted(inscription_demandes().values_list("number", flat=True))
    assert numbers == ["DEM-2026-000001", "DEM-2026-000002"]
    assert Inscription.objects.filter(status=InscriptionStatus.EN_ATTENTE).count() == 2
    text = text_of(logged.get(response.url))
    assert "Vos demandes sont transmises" in text
    assert "Léa DURAND" in text and "Tom DURAND" in text


def test_a_double_submit_files_once(logged, family):
    first = post(logged, family, family["lea"])
    second = post(logged, family, family["lea"])

    assert inscription_demandes().count() == 1
    assert Inscription.objects.count() == 1
    # Both clicks land on the confirmation of the one request.
    assert first.status_code == second.status_code == 302
    assert first.url == second.url


def test_the_service_refuses_a_child_the_activity_does_not_take(logged, family):
    response = post(logged, family, family["tom"])  # forged: Tom has no box

    assert response.status_code == 400
    assert "Tom : niveau Élémentaire : cette activité accueille le niveau Maternelle" in (
        text_of(response)
    )
    assert not Inscription.objects.exists()
    assert not inscription_demandes().exists()


def test_all_or_nothing(family):
    with pytest.raises(InscriptionRefused) as refused:
        request_inscriptions(
            user=family["user"], commune=family["commune"], activity=family["activity"],
            children=[family["lea"], family["tom"]],
        )  # fmt: skip
    assert set(refused.value.problems) == {family["tom"].pk}
    assert not Inscription.objects.exists()
    assert not Demande.objects.exists()


def test_no_child_ticked_is_an_error_next_to_the_field(logged, family):
    response = logged.post(page_url(family), {"activite": "peri-maternelle"})
    assert response.status_code == 400
    assert "Cochez au moins un enfant." in text_of(response)
    assert not Inscription.objects.exists()


def test_another_familys_child_is_refused_and_nothing_is_filed(logged, family):
    stranger = ChildFactory(
        famille=FamilleFactory(commune=family["commune"]), level=SchoolLevel.MATERNELLE
    )

    response = post(logged, family, stranger)

    assert response.status_code == 400
    assert "Cet enfant ne fait pas partie de vos foyers." in text_of(response)
    assert not Inscription.objects.exists()
    assert not Demande.objects.exists()
    # Nor through the service.
    with pytest.raises(InscriptionRefused):
        request_inscriptions(
            user=family["user"], commune=family["commune"], activity=family["activity"],
            children=[stranger],
        )  # fmt: skip


def test_another_communes_or_an_ended_activity_is_404(logged, family):
    elsewhere = make_activity(CommuneFactory(), slug="ailleurs", levels=[])
    ended = make_activity(
        family["commune"], slug="ete", start=date(2026, 7, 6), end=date(2026, 8, 28), levels=[]
    )
    for activity in (elsewhere, ended):
        assert logged.get(page_url(family, activite=activity.slug)).status_code == 404
        assert post(logged, family, family["lea"], activity=activity).status_code == 404
    assert "n'est pas ouverte aux inscriptions" in text_of(
        logged.get(page_url(family, activite="nope"))
    )
    assert not Inscription.objects.exists()
    assert not Demande.objects.exists()
    with pytest.raises(InscriptionRefused):
        request_inscriptions(
            user=family["user"], commune=family["commune"], activity=elsewhere,
            children=[family["lea"]],
        )  # fmt: skip


def test_the_last_day_of_the_period_is_still_open(family):
    with time_machine.travel(datetime(2027, 7, 3, 23, 59, tzinfo=PARIS), tick=False):
        filed = request_inscriptions(
            user=family["user"], commune=family["commune"], activity=family["activity"],
            children=[family["lea"]],
        )  # fmt: skip
    assert len(filed) == 1
    with (
        time_machine.travel(datetime(2027, 7, 4, 0, 0, tzinfo=PARIS), tick=False),
        pytest.raises(InscriptionRefused),
    ):
        request_inscriptions(
            user=family["user"], commune=family["commune"], activity=family["activity"],
            children=[family["lea"]],
        )  # fmt: skip


def test_a_refused_inscription_is_asked_for_again_on_the_same_row(logged, family, client):
    post(logged, family, family["lea"])
    first = inscription_demandes().get()
    agent = AgentFactory(commune=family["commune"])
    demarches_services.transition(
        demande=first, to=Status.REFUSEE, actor=agent, comment="Plus de place cette année."
    )
    inscription = Inscription.objects.get()
    assert inscription.status == InscriptionStatus.REFUSEE

    index = logged.get(reverse("activities:index", kwargs={"commune": family["commune"].slug}))
    assert "✗ Refusée Motif du refus : Plus de place cette année." in text_of(index)
    text = text_of(logged.get(page_url(family, activite="peri-maternelle")))
    assert "La précédente demande pour Léa a été refusée : Plus de place cette année." in text

    response = post(logged, family, family["lea"])

    assert response.status_code == 302
    again = Inscription.objects.get()
    assert again.pk == inscription.pk
    assert again.status == InscriptionStatus.EN_ATTENTE
    assert again.refusal_reason == ""
    assert again.decided_at is None
    assert again.demande.number == "DEM-2026-000002"
    first.refresh_from_db()
    assert first.status == Status.REFUSEE  # the old request keeps its history


def test_accepted_inscription_is_not_filed_again(family):
    register(family["lea"], family["activity"])
    with pytest.raises(InscriptionRefused):
        request_inscriptions(
            user=family["user"], commune=family["commune"], activity=family["activity"],
            children=[family["lea"]],
        )  # fmt: skip
    assert not Demande.objects.exists()


def test_a_commune_without_the_procedure_gets_a_message(logged, family):
    Procedure.objects.filter(slug=INSCRIPTION_SLUG).update(is_enabled=False)
    response = post(logged, family, family["lea"])
    assert response.status_code == 400
    assert "La commune ne reçoit pas les inscriptions en ligne" in text_of(response)
    assert not Inscription.objects.exists()


def test_a_procedure_set_to_accept_automatically_accepts_the_inscription(family):
    Procedure.objects.filter(slug=INSCRIPTION_SLUG).update(auto_accept=True)
    request_inscriptions(
        user=family["user"], commune=family["commune"], activity=family["activity"],
        children=[family["lea"]],
    )  # fmt: skip
    assert inscription_demandes().get().status == Status.ACCEPTEE
    assert Inscription.objects.get().status == InscriptionStatus.ACCEPTEE


# --- Who may see what ----------------------------------------------------------------------------


def test_anonymous_goes_to_the_login(client, family):
    response = client.get(page_url(family))
    assert response.status_code == 302
    assert "connexion" in response.url


def test_an_account_without_family_is_told_how_to_link_it(client, family):
    client.force_login(CitizenFactory(commune=family["commune"]), backend=BACKEND)
    response = client.get(page_url(family))
    assert response.status_code == 200
    assert "Reliez votre espace à votre famille" in text_of(response)
    assert client.post(page_url(family), {"activite": "peri-maternelle"}).status_code == 200
    assert not Inscription.objects.exists()


def test_the_confirmation_shows_only_the_accounts_families_requests(logged, family, client):
    other = FamilyAccessFactory(famille=FamilleFactory(commune=family["commune"]))
    kid = ChildFactory(famille=other.famille, level=SchoolLevel.MATERNELLE)
    request_inscriptions(
        user=other.user, commune=family["commune"], activity=family["activity"], children=[kid]
    )
    number = inscription_demandes().get().number
    assert logged.get(page_url(family, demandes=number)).status_code == 404
    assert logged.get(page_url(family, demandes="DEM-1,,x")).status_code == 404


def test_the_other_parent_sees_the_number_without_a_link_to_a_request_not_theirs(client, family):
    request_inscriptions(
        user=family["user"], commune=family["commune"], activity=family["activity"],
        children=[family["lea"]],
    )  # fmt: skip
    partner = FamilyAccessFactory(famille=family["famille"]).user
    client.force_login(partner, backend=BACKEND)
    response = client.get(reverse("activities:index", kwargs={"commune": family["commune"].slug}))
    assert "Demande n° DEM-2026-000001" in text_of(response)
    assert "/mes-demandes/DEM-2026-000001/" not in response.content.decode()


# --- « Créer une inscription », the catalogue and the wizard ----------------------------------


def test_creer_une_inscription_offers_each_open_activity(logged, family, django_assert_num_queries):
    index = reverse("inscriptions:index", kwargs={"commune": family["commune"].slug})
    logged.get(index)  # warm the session
    with CaptureQueriesContext(connection) as one:
        response = logged.get(index)
    text = text_of(response)
    assert "Inscription à une activité" in text
    assert "Accueil Périscolaire Maternelle, du 01/09/2026 au 03/07/2027" in text
    assert page_url(family, activite="peri-maternelle") in response.content.decode()

    for n in range(3):
        make_activity(family["commune"], name=f"Activité {n}", slug=f"activite-{n}")
    with django_assert_num_queries(len(one.captured_queries)):
        response = logged.get(index)
    assert "Activité 2, du 01/09/2026" in text_of(response)


def test_the_catalogue_and_the_wizard_lead_to_the_inscription_page(logged, family):
    commune = family["commune"].slug
    catalogue = logged.get(reverse("demarches:catalogue", kwargs={"commune": commune}))
    html = catalogue.content.decode()
    assert page_url(family) in html
    assert f"/demarches/{INSCRIPTION_SLUG}/" not in html

    kwargs = {"commune": commune, "slug": INSCRIPTION_SLUG}
    for response in (
        logged.get(reverse("demarches:demarche", kwargs=kwargs)),
        logged.post(reverse("demarches:demarche", kwargs=kwargs)),
        logged.get(reverse("demarches:etape", kwargs={**kwargs, "pk": 1, "step": 1})),
        logged.get(reverse("demarches:recapitulatif", kwargs={**kwargs, "pk": 1})),
    ):
        assert response.status_code == 302
        assert response.url == page_url(family)
    assert not Demande.objects.exists()


# --- The request's closing, from the service -----------------------------------------------------


@pytest.mark.parametrize(
    ("to", "comment", "status", "reason"),
    [
        (Status.ACCEPTEE, "", InscriptionStatus.ACCEPTEE, ""),
        (Status.REFUSEE, "Complet.", InscriptionStatus.REFUSEE, "Complet."),
        (Status.SANS_SUITE, "", InscriptionStatus.REFUSEE, "Demande classée sans suite."),
    ],
)
def test_the_inscription_follows_its_request(family, to, comment, status, reason):
    (filed,) = request_inscriptions(
        user=family["user"], commune=family["commune"], activity=family["activity"],
        children=[family["lea"]],
    )  # fmt: skip
    agent = AgentFactory(commune=family["commune"])

    demarches_services.transition(demande=filed.demande, to=to, actor=agent, comment=comment)

    inscription = Inscription.objects.get()
    assert inscription.status == status
    assert inscription.refusal_reason == reason
    assert inscription.decided_at is not None
    action = "inscription.accept" if to == Status.ACCEPTEE else "inscription.refuse"
    entry = AuditEntry.objects.get(action=action)
    assert entry.actor == agent
    assert entry.famille_id == family["famille"].pk


def test_an_other_procedures_closing_touches_no_inscription(family):
    register(family["lea"], family["activity"], InscriptionStatus.EN_ATTENTE)
    procedure = Procedure.objects.get(commune=family["commune"], slug="dossier-administratif")
    demande = demarches_services.start_draft(procedure=procedure, user=family["user"])
    demarches_services.submit(demande=demande)
    demarches_services.transition(
        demande=demande, to=Status.ACCEPTEE, actor=AgentFactory(commune=family["commune"])
    )
    assert Inscription.objects.get().status == InscriptionStatus.EN_ATTENTE
