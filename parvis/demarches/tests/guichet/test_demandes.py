"""The agents' queue of requests: counts, filters and order; one request with its answers, files,
history and messages; every decision with its event, audit row and e-mail; the transitions the
table refuses; the batch action; the CSV export; scoping by commune and by role."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.background import jobs
from parvis.background.models import Job
from parvis.communes.tests.factories import CommuneFactory, ServiceFactory
from parvis.demarches import services, services_lots
from parvis.demarches.models import TRANSITIONS, Demande, DemandeEvent, DemandeMessage, Status
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.families.tests.factories import CitizenFactory, FamilleFactory, FamilyAccessFactory
from parvis.testing.files import pdf_bytes, png_bytes
from parvis.testing.guichet import make_agent, text_of

pytestmark = pytest.mark.django_db

BASE = "/villebois/guichet/demandes/"
PDF = pdf_bytes()


def make_demande(procedure, *, name="Jean DUPONT", email="jean.dupont@example.fr", **answers):
    """A request submitted without an account, as the wizard does it."""
    demande = services.start_draft(procedure=procedure, draft_key="brouillon")
    services.save_step(
        demande=demande,
        step=1,
        answers={"objet": "Copie intégrale", "livraison": "mairie", **answers},
    )
    services.submit(demande=demande, contact_name=name, contact_email=email)
    demande.refresh_from_db()
    return demande


def set_status(demande, status, **fields):
    Demande.objects.filter(pk=demande.pk).update(status=status, **fields)
    demande.refresh_from_db()
    return demande


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def etat_civil(commune):
    return ServiceFactory(commune=commune, name="État civil", kind="etat_civil")


@pytest.fixture
def procedure(commune, etat_civil):
    return ProcedureFactory(
        commune=commune, service=etat_civil, title="Demande d'acte de naissance", slug="naissance"
    )


@pytest.fixture
def enfance_procedure(commune, enfance_service):
    return ProcedureFactory(
        commune=commune,
        service=enfance_service,
        title="Autorisation parentale",
        slug="autorisation",
        category="Enfance",
    )


@pytest.fixture
def agent(commune):
    return make_agent(commune, AgentRole.Role.ETAT_CIVIL, first_name="Claire", last_name="MARTIN")


@pytest.fixture
def client_ec(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def demande(procedure):
    return make_demande(procedure)


# --- The queue -----------------------------------------------------------------------------------


def test_the_queue_counts_by_status_and_lists_oldest_first(client_ec, procedure, enfance_procedure):
    old = make_demande(procedure, name="Alice ANCIENNE")
    Demande.objects.filter(pk=old.pk).update(submitted_at=timezone.now() - timedelta(days=40))
    recent = make_demande(procedure, name="Bruno RECENT")
    middle = make_demande(procedure, name="Chloé MILIEU")
    Demande.objects.filter(pk=middle.pk).update(submitted_at=timezone.now() - timedelta(days=10))
    accepted = make_demande(procedure, name="Denis ACCEPTE")
    set_status(accepted, Status.ACCEPTEE)
    services.start_draft(procedure=procedure, draft_key="pas-fini")  # a draft: never shown
    make_demande(enfance_procedure, name="Émile ENFANCE")  # another service: not shown

    response = client_ec.get(BASE)
    assert response.status_code == 200
    numbers = [d.number for d, _checkbox, _name in response.context["rows"]]
    assert numbers == [old.number, middle.number, recent.number, accepted.number]
    counts = {c.status: c.count for c in response.context["counts"]}
    assert counts == {
        Status.EN_ATTENTE: 3,
        Status.EN_COURS: 0,
        Status.COMPLEMENT: 0,
        Status.ACCEPTEE: 1,
        Status.REFUSEE: 0,
        Status.SANS_SUITE: 0,
    }
    text = text_of(response)
    assert "3 En attente d'instruction" in text and "1 Acceptée" in text
    assert "Émile ENFANCE" not in text and "Brouillon" not in text
    assert "4 demandes" in text
    # Each row: number, procedure, requester « sans compte », date, status as text, agent.
    assert "Alice ANCIENNE sans compte" in text
    assert 'class="demande-status demande-status--acceptee">Acceptée</span>' in (
        response.content.decode()
    )


def test_the_requester_with_an_account_is_named(client_ec, commune, procedure):
    citizen = CitizenFactory(commune=commune, first_name="Nadia", last_name="LEROY")
    demande = services.start_draft(procedure=procedure, user=citizen)
    services.save_step(demande=demande, step=1, answers={"objet": "x", "livraison": "mairie"})
    services.submit(demande=demande)
    text = text_of(client_ec.get(BASE))
    assert "Nadia LEROY" in text and "sans compte" not in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"statut": "en_attente"}, ["attente", "vieux", "tres-vieux", "autre-demarche"]),
        ({"statut": "en_cours"}, ["moi", "collegue"]),
        ({"anciennete": "7"}, ["vieux", "tres-vieux"]),
        ({"anciennete": "30"}, ["tres-vieux"]),
        ({"agent": "moi"}, ["moi"]),
        ({"agent": "personne"}, ["attente", "vieux", "tres-vieux", "autre-demarche"]),
        ({"agent": "collegue"}, ["collegue"]),
        ({"demarche": "autre"}, ["autre-demarche"]),
        ({"statut": "en_attente", "anciennete": "30"}, ["tres-vieux"]),
        ({"statut": "brouillon"}, None),  # not a choice: the filter is dropped, said
    ],
)
def test_the_queue_filters(client_ec, commune, agent, etat_civil, procedure, query, expected):
    colleague = make_agent(commune, AgentRole.Role.ETAT_CIVIL, last_name="COLLEGUE")
    other = ProcedureFactory(commune=commune, service=etat_civil, slug="autre", title="Autre")
    made = {}
    for name in ("tres-vieux", "vieux", "attente", "moi", "collegue"):
        made[name] = make_demande(procedure, name=name)
    made["autre-demarche"] = make_demande(other, name="autre-demarche")
    now = timezone.now()
    Demande.objects.filter(pk=made["tres-vieux"].pk).update(submitted_at=now - timedelta(days=31))
    Demande.objects.filter(pk=made["vieux"].pk).update(submitted_at=now - timedelta(days=8))
    services.take(demande=made["moi"], agent=agent)
    services.take(demande=made["collegue"], agent=colleague)
    if query.get("agent") == "collegue":
        query = {**query, "agent": str(colleague.pk)}
    response = client_ec.get(BASE, query)
    names = [d.contact_name for d, _checkbox, _name in response.context["rows"]]
    if expected is None:
        assert len(names) == len(made)
        assert "Sélectionnez un choix valide" in text_of(response)
    else:
        assert sorted(names) == sorted(expected)


def test_the_queue_is_paginated_and_keeps_the_filters(client_ec, procedure):
    for n in range(27):
        make_demande(procedure, name=f"Demandeur {n:02d}")
    first = client_ec.get(BASE, {"statut": "en_attente"})
    assert len(first.context["rows"]) == 25
    assert 'href="?statut=en_attente&amp;page=2"' in first.content.decode()
    second = client_ec.get(BASE, {"statut": "en_attente", "page": 2})
    assert [d.contact_name for d, _c, _n in second.context["rows"]] == [
        "Demandeur 25",
        "Demandeur 26",
    ]


def test_the_queue_costs_the_same_for_1_or_30_requests(
    commune, agent, procedure, django_assert_max_num_queries
):
    client = Client()
    client.force_login(agent)

    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(BASE).status_code == 200
        return len(queries)

    services.take(demande=make_demande(procedure), agent=agent)
    with_one = count()
    citizen = CitizenFactory(commune=commune)
    for n in range(29):
        if n % 3:
            demande = make_demande(procedure, name=f"Anonyme {n}")
        else:
            demande = services.start_draft(procedure=procedure, user=citizen)
            services.save_step(
                demande=demande, step=1, answers={"objet": "x", "livraison": "mairie"}
            )
            services.submit(demande=demande)
        if n % 2:
            services.take(demande=demande, agent=make_agent(commune, AgentRole.Role.ETAT_CIVIL))
    with django_assert_max_num_queries(with_one):
        response = client.get(BASE)
    assert len(response.context["rows"]) == 25
    assert with_one <= 10


# --- One request ---------------------------------------------------------------------------------


def test_the_request_page_shows_answers_escaped_files_history_and_messages(
    client_ec, agent, procedure
):
    demande = services.start_draft(procedure=procedure, draft_key="k")
    services.save_step(
        demande=demande,
        step=1,
        answers={"objet": "<script>alert('pirate')</script>", "livraison": "mairie"},
    )
    services.save_step(
        demande=demande,
        step=2,
        answers={},
        files={"piece": SimpleUploadedFile("carte <em>identité.pdf", PDF)},
    )
    services.submit(demande=demande, contact_name="<img src=x onerror=alert(1)>", contact_email="")
    demande.refresh_from_db()
    services.take(demande=demande, agent=agent)
    services.ask_complement(demande=demande, agent=agent, message="Merci de joindre le livret.")
    services.post_message(
        demande=demande,
        body="Voici <b>le livret</b>",
        from_requester=True,
        files=[SimpleUploadedFile("livret.png", png_bytes())],
    )

    response = client_ec.get(f"{BASE}{demande.number}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#x27;pirate&#x27;)&lt;/script&gt;" in html
    text = text_of(response)
    assert "Objet &lt;script&gt;alert('pirate')&lt;/script&gt;" in text  # shown as text
    assert "Retrait en mairie" in text  # a choice's label, not its value
    assert "carte &lt;em&gt;identité.pdf" in html and "livret.png" in html
    # The history: who, from → to, the comment.
    assert "dépôt par le demandeur" in text
    assert "En attente d'instruction → En cours d'instruction" in text
    assert "En cours d'instruction → Complément demandé" in text
    assert "Complément demandé → En cours d'instruction" in text
    assert "Claire MARTIN" in text and "Merci de joindre le livret." in text
    assert "(demandeur)" in text and "(service)" in text
    assert "État : En cours d'instruction" in text
    # The actions the table allows from « en cours »: no « Prendre en charge ».
    buttons = [action.slug for action, _form in response.context["actions"]]
    assert buttons == ["complement", "accepter", "refuser", "classer", "message"]


def test_the_request_page_costs_a_constant_number_of_queries(
    client_ec, agent, procedure, django_assert_max_num_queries
):
    demande = make_demande(procedure)
    url = f"{BASE}{demande.number}/"
    services.take(demande=demande, agent=agent)

    def exchange(n):
        services.ask_complement(demande=demande, agent=agent, message=f"Question {n}")
        services.post_message(
            demande=demande,
            body=f"Réponse {n}",
            from_requester=True,
            files=[SimpleUploadedFile(f"r{n}.pdf", PDF), SimpleUploadedFile(f"s{n}.pdf", PDF)],
        )

    exchange(0)
    with django_assert_max_num_queries(10) as captured:
        client_ec.get(url)
    first = len(captured)
    for n in range(1, 5):
        exchange(n)
    with django_assert_max_num_queries(first):
        response = client_ec.get(url)
    assert len(response.context["thread"]) == 10 and len(response.context["events"]) == 12


def test_a_closed_request_offers_no_action(client_ec, demande):
    set_status(demande, Status.ACCEPTEE)
    response = client_ec.get(f"{BASE}{demande.number}/")
    assert response.context["actions"] == []
    assert "Cette demande est close" in text_of(response)


# --- Decisions -----------------------------------------------------------------------------------

ACTION_OF = {
    Status.EN_COURS: "prendre",
    Status.COMPLEMENT: "complement",
    Status.ACCEPTEE: "accepter",
    Status.REFUSEE: "refuser",
    Status.SANS_SUITE: "classer",
}
POST_TEXT = {"complement": "Il manque le livret.", "refuser": "Pas de lien avec la personne."}
ALLOWED = [  # the table's sets, in a stable order (pytest-xdist collects on each worker)
    (origin, to)
    for origin, targets in TRANSITIONS.items()
    for to in sorted(targets)
    if to in ACTION_OF
]
REFUSED = [
    (origin, to)
    for origin in Status.values
    if origin != Status.BROUILLON
    for to in ACTION_OF
    if to not in TRANSITIONS[origin]
]


def post_action(client, demande, action, text=""):
    data = {f"{action}-text": text} if action != "prendre" else {}
    return client.post(f"{BASE}{demande.number}/{action}/", data)


@pytest.mark.parametrize(("origin", "to"), ALLOWED)
def test_each_allowed_decision_writes_event_audit_and_e_mail(
    client_ec, agent, demande, origin, to, django_capture_on_commit_callbacks
):
    set_status(demande, origin)
    mail.outbox.clear()
    action = ACTION_OF[to]
    text = POST_TEXT.get(action, "Votre acte est prêt.")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(client_ec, demande, action, text)
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}{demande.number}/"
    demande.refresh_from_db()
    assert demande.status == to
    event = demande.events.get(from_status=origin, to_status=to)
    assert event.actor == agent and event.actor_label == "Claire MARTIN"
    assert event.comment == ("" if action == "prendre" else text)
    assert AuditEntry.objects.filter(
        action="demande.transition", actor=agent, target_id=str(demande.pk)
    ).exists()
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["jean.dupont@example.fr"]
    assert demande.get_status_display() in sent.subject
    if action != "prendre":
        assert text in sent.body
    if to in (Status.ACCEPTEE, Status.REFUSEE, Status.SANS_SUITE):
        assert demande.closed_at is not None
    if action in ("prendre", "complement"):
        assert demande.assigned_to == agent
    if action == "complement":
        assert demande.messages.get().body == text


@pytest.mark.parametrize(("origin", "to"), REFUSED)
def test_a_decision_out_of_the_table_is_refused_and_changes_nothing(
    client_ec, demande, origin, to, django_capture_on_commit_callbacks
):
    set_status(demande, origin)
    events = DemandeEvent.objects.count()
    mail.outbox.clear()
    action = ACTION_OF[to]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(client_ec, demande, action, POST_TEXT.get(action, "Commentaire"))
    assert response.status_code == 302
    assert "n'est pas possible pour une demande à l'état" in flash(response)[0]
    assert "rien n'a été modifié" in flash(response)[0]
    demande.refresh_from_db()
    assert demande.status == origin and demande.assigned_to is None
    assert DemandeEvent.objects.count() == events and not DemandeMessage.objects.exists()
    assert mail.outbox == []


def test_every_target_status_of_the_table_is_an_action_or_none_at_all():
    # brouillon and « en attente » are reached by the requester only: no guichet URL leads there.
    targets = {to for targets in TRANSITIONS.values() for to in targets}
    assert targets - set(ACTION_OF) == {Status.EN_ATTENTE}


def test_a_draft_is_a_404(client_ec, procedure):
    draft = services.start_draft(procedure=procedure, draft_key="k")
    Demande.objects.filter(pk=draft.pk).update(number="DEM-2026-999999")
    assert client_ec.get(f"{BASE}DEM-2026-999999/").status_code == 404
    assert client_ec.post(f"{BASE}DEM-2026-999999/prendre/").status_code == 404


def test_a_refusal_needs_a_reason(client_ec, demande):
    services.take(demande=demande, agent=make_agent(demande.commune, AgentRole.Role.ETAT_CIVIL))
    response = post_action(client_ec, demande, "refuser", "   ")
    assert response.status_code == 200
    text = text_of(response)
    assert "Le formulaire n'a pas pu être envoyé" in text
    assert "Motif du refus : Indiquez le motif du refus." in text
    demande.refresh_from_db()
    assert demande.status == Status.EN_COURS


def test_a_complement_needs_a_message_and_accepting_needs_none(
    client_ec, demande, django_capture_on_commit_callbacks
):
    response = post_action(client_ec, demande, "complement", "")
    assert "Dites au demandeur ce qu'il doit compléter." in text_of(response)
    demande.refresh_from_db()
    assert demande.status == Status.EN_ATTENTE
    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(client_ec, demande, "accepter", "")
    demande.refresh_from_db()
    assert demande.status == Status.ACCEPTEE
    assert flash(response) == ["1 demande acceptée."]


def test_a_message_to_the_requester(client_ec, agent, demande, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(client_ec, demande, "message", "Nous traitons votre demande.")
    assert flash(response) == ["Message envoyé au demandeur."]
    message = demande.messages.get()
    assert not message.from_requester and message.author == agent
    assert message.author_label == "Claire MARTIN"
    demande.refresh_from_db()
    assert demande.status == Status.EN_ATTENTE
    assert len(mail.outbox) == 1 and "Nous traitons votre demande." in mail.outbox[0].body
    # An empty message is refused; a closed request takes none.
    assert "Écrivez le message." in text_of(post_action(client_ec, demande, "message", ""))
    set_status(demande, Status.REFUSEE)
    response = post_action(client_ec, demande, "message", "Encore un mot")
    assert "n'est pas possible" in flash(response)[0]
    assert demande.messages.count() == 1


def test_decisions_need_the_csrf_token(agent, demande):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    assert post_action(client, demande, "prendre").status_code == 403
    assert (
        client.post(f"{BASE}lot/", {"demandes": [demande.number], "action": "prendre"}).status_code
        == 403
    )
    demande.refresh_from_db()
    assert demande.status == Status.EN_ATTENTE
    # With the token the page carries, it goes through.
    page = client.get(f"{BASE}{demande.number}/")
    token = page.cookies["csrftoken"].value
    response = client.post(f"{BASE}{demande.number}/prendre/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_accepting_applies_the_procedures_effect_through_the_services(
    client_ec, commune, etat_civil, django_capture_on_commit_callbacks
):
    from parvis.demarches.models import Effect

    famille = FamilleFactory(commune=commune, paperless_invoice=False)
    citizen = FamilyAccessFactory(famille=famille).user
    procedure = ProcedureFactory(
        commune=commune,
        service=etat_civil,
        effect=Effect.PAPERLESS_INVOICE,
        definition={
            "steps": [
                {
                    "title": "Facture",
                    "fields": [{"name": "adhesion", "label": "Adhérer", "type": "yesno"}],
                }
            ]
        },
    )
    demande = services.start_draft(procedure=procedure, user=citizen)
    services.save_step(demande=demande, step=1, answers={"adhesion": "oui"})
    services.submit(demande=demande)
    demande.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        post_action(client_ec, demande, "accepter")
    famille.refresh_from_db()
    assert famille.paperless_invoice is True


# --- Batch ---------------------------------------------------------------------------------------


def job_page(client, response):
    """The batch's job page the action redirected to, and its text."""
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/villebois/guichet/travaux/{job.pk}/"
    return job, text_of(client.get(response["Location"]))


def test_a_batch_takes_what_it_can_and_says_what_it_left(
    client_ec, agent, procedure, enfance_procedure, django_capture_on_commit_callbacks
):
    waiting = make_demande(procedure)
    complement = set_status(make_demande(procedure), Status.COMPLEMENT)
    accepted = set_status(make_demande(procedure), Status.ACCEPTEE)
    in_progress = set_status(make_demande(procedure), Status.EN_COURS)
    enfance = make_demande(enfance_procedure)  # not the agent's service
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_ec.post(
            f"{BASE}lot/",
            {
                "demandes": [
                    waiting.number,
                    complement.number,
                    accepted.number,
                    in_progress.number,
                    enfance.number,
                ],
                "action": "prendre",
                "retour": f"{BASE}?statut=en_attente",
            },
        )
    job, text = job_page(client_ec, response)
    # The request out of the agent's sight is not in the job, only named on its page.
    assert (job.status, job.done, job.total) == (Job.Status.DONE, 4, 4)
    assert job.params["not_found"] == [enfance.number]
    assert "2 demandes prises en charge." in text
    assert (
        "3 demandes n'ont pas été traitées, « Prendre en charge » n'étant pas possible dans leur "
        f"état : {accepted.number} (Acceptée), {in_progress.number} (En cours d'instruction), "
        f"{enfance.number} (introuvable)."
    ) in text
    # Its « Retour » goes back to the queue as the agent left it.
    assert job.return_url == f"{BASE}?statut=en_attente"
    for demande, status in (
        (waiting, Status.EN_COURS),
        (complement, Status.EN_COURS),
        (accepted, Status.ACCEPTEE),
        (in_progress, Status.EN_COURS),
        (enfance, Status.EN_ATTENTE),
    ):
        demande.refresh_from_db()
        assert demande.status == status
    waiting.refresh_from_db()
    assert waiting.assigned_to == agent and in_progress.assigned_to is None
    assert enfance.assigned_to is None
    assert len(mail.outbox) == 2
    assert AuditEntry.objects.filter(action="demande.transition", actor=agent).count() == 2
    started = AuditEntry.objects.get(action="travail.lance")
    assert started.changes == {"status": [None, "queued"], "items": [None, 4]}


@pytest.mark.parametrize(
    ("action", "to", "said"),
    [
        ("accepter", Status.ACCEPTEE, "2 demandes acceptées."),
        ("classer", Status.SANS_SUITE, "2 demandes classées sans suite."),
    ],
)
def test_a_batch_accepts_or_dismisses(
    client_ec, agent, procedure, action, to, said, django_capture_on_commit_callbacks
):
    first, second = make_demande(procedure), make_demande(procedure)
    set_status(second, Status.EN_COURS)
    closed = set_status(make_demande(procedure), Status.REFUSEE)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_ec.post(
            f"{BASE}lot/",
            {"demandes": [first.number, second.number, closed.number], "action": action},
        )
    job, text = job_page(client_ec, response)
    assert job.return_url == BASE
    assert said in text
    assert f"{closed.number} (Refusée)" in text
    assert sorted(Demande.objects.filter(status=to).values_list("number", flat=True)) == sorted(
        [first.number, second.number]
    )
    assert DemandeEvent.objects.filter(to_status=to, actor=agent).count() == 2


def test_a_batch_without_selection_or_with_an_unknown_action(client_ec, demande):
    response = client_ec.post(f"{BASE}lot/", {"action": "prendre"})
    assert flash(response) == ["Cochez au moins une demande."]
    response = client_ec.post(f"{BASE}lot/", {"demandes": [demande.number], "action": "refuser"})
    assert response.status_code == 302 and "refuser" in flash(response)[-1]
    demande.refresh_from_db()
    assert demande.status == Status.EN_ATTENTE
    assert not Job.objects.exists()
    # « retour » never leads out of the queue.
    response = client_ec.post(
        f"{BASE}lot/", {"action": "prendre", "retour": "https://pirate.example/"}
    )
    assert response["Location"] == BASE


def test_a_batch_has_no_cap_and_works_in_batches(
    client_ec, agent, procedure, django_capture_on_commit_callbacks
):
    """Issue 17 §4: more than the old cap of 100 ticked, decided by a worker in batches of 50."""
    demandes = [make_demande(procedure) for _index in range(101)]
    numbers = [demande.number for demande in demandes] + ["X-1"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client_ec.post(f"{BASE}lot/", {"demandes": numbers, "action": "accepter"})
    job, text = job_page(client_ec, response)
    assert (job.status, job.done, job.total) == (Job.Status.DONE, 101, 101)
    assert "101 lignes sur 101 traitées" in text
    assert "101 demandes acceptées." in text
    assert "1 demande n'a pas été traitée" in text and "X-1 (introuvable)" in text
    assert Demande.objects.filter(status=Status.ACCEPTEE).count() == 101


def test_a_batch_job_is_resumed_without_deciding_twice(
    client_ec, agent, procedure, monkeypatch, django_capture_on_commit_callbacks
):
    demandes = [make_demande(procedure) for _index in range(5)]
    real, calls = services_lots.run_demandes, []

    def stop_in_the_second_batch(job, numbers):
        calls.append(numbers)
        counters = real(job, numbers)
        if len(calls) == 2:
            raise RuntimeError("the worker stops")  # inside the batch's transaction
        return counters

    def kind(run_batch):
        return jobs.JobKind(
            label="x", run_batch=run_batch, summary=services_lots.summary_demandes, batch_size=2
        )

    monkeypatch.setitem(jobs.KINDS, services_lots.DEMANDES, kind(stop_in_the_second_batch))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client_ec.post(
            f"{BASE}lot/", {"demandes": [d.number for d in demandes], "action": "accepter"}
        )
    job = Job.objects.get()
    assert (job.status, job.done, job.error_code) == (Job.Status.FAILED, 2, "technical")
    statuses = [Demande.objects.get(pk=d.pk).status for d in demandes]
    assert statuses == [Status.ACCEPTEE] * 2 + [Status.EN_ATTENTE] * 3
    assert len(mail.outbox) == 2  # the rolled-back batch sent nothing
    monkeypatch.setitem(jobs.KINDS, services_lots.DEMANDES, kind(real))
    with django_capture_on_commit_callbacks(execute=True):
        client_ec.post(f"/villebois/guichet/travaux/{job.pk}/", {"action": "reprendre"})
    job.refresh_from_db()
    assert (job.status, job.done, job.result) == (Job.Status.DONE, 5, {"done": 5, "left": []})
    assert {Demande.objects.get(pk=d.pk).status for d in demandes} == {Status.ACCEPTEE}
    assert DemandeEvent.objects.filter(to_status=Status.ACCEPTEE).count() == 5
    assert AuditEntry.objects.filter(action="demande.transition").count() == 5
    assert len(mail.outbox) == 5


def test_another_agent_cannot_see_a_batch_job(client, client_ec, commune, demande):
    client_ec.post(f"{BASE}lot/", {"demandes": [demande.number], "action": "prendre"})
    job = Job.objects.get()
    client.force_login(make_agent(commune, AgentRole.Role.ETAT_CIVIL))
    assert client.get(f"/villebois/guichet/travaux/{job.pk}/").status_code == 404
    assert (
        client.post(f"/villebois/guichet/travaux/{job.pk}/", {"action": "reprendre"}).status_code
        == 404
    )


def test_a_batch_job_counts_its_queries_per_request(
    agent, commune, procedure, django_capture_on_commit_callbacks
):
    """The job's own reads (commune, agent, roles, the batch's requests) once a batch; each
    request then costs the same as one by one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(count):
        demandes = {d.number: d for d in (make_demande(procedure) for _index in range(count))}
        job = services_lots.start_demandes(
            commune=commune, actor=agent, action="prendre", numbers=list(demandes), visible=demandes
        )
        with CaptureQueriesContext(connection) as captured:
            jobs.run(job.pk)
        job.refresh_from_db()
        assert (job.status, job.result["done"]) == (Job.Status.DONE, count)
        return len(captured.captured_queries)

    one, two, three = queries(1), queries(2), queries(3)
    assert three - two == two - one


def test_the_queue_page_has_the_batch_form(client_ec, demande):
    html = client_ec.get(BASE).content.decode()
    assert f'name="demandes" value="{demande.number}"' in html
    assert "Sélectionner la demande" in html
    for label in ("Prendre en charge", "Accepter", "Classer sans suite"):
        assert f">{label}</button>" in html


# --- CSV export ----------------------------------------------------------------------------------


def read_csv(response):
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:]), delimiter=";"))


def test_the_export_is_a_csv_for_french_excel(client_ec, agent, commune, procedure):
    anonymous = make_demande(procedure, name='=HYPERLINK("http://x")', email="a@example.fr")
    Demande.objects.filter(pk=anonymous.pk).update(submitted_at=timezone.now() - timedelta(days=3))
    citizen = CitizenFactory(commune=commune, first_name="+Nadia", last_name="@LEROY")
    with_account = services.start_draft(procedure=procedure, user=citizen)
    services.save_step(demande=with_account, step=1, answers={"objet": "x", "livraison": "mairie"})
    services.submit(demande=with_account)
    with_account.refresh_from_db()
    services.take(demande=with_account, agent=agent)
    services.transition(demande=with_account, to=Status.ACCEPTEE, actor=agent)
    with_account.refresh_from_db()

    response = client_ec.get(f"{BASE}export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="demandes-villebois-')
    rows = read_csv(response)
    assert rows[0] == [
        "Numéro",
        "Démarche",
        "État",
        "Demandeur",
        "Courriel",
        "Déposée le",
        "Close le",
        "Agent en charge",
    ]
    assert rows[1][:5] == [
        anonymous.number,
        "Demande d'acte de naissance",
        "En attente d'instruction",
        '\'=HYPERLINK("http://x")',
        "a@example.fr",
    ]
    assert rows[1][6:] == ["", ""]
    closed_at = timezone.localtime(with_account.closed_at).strftime("%d/%m/%Y %H:%M")
    assert rows[2] == [
        with_account.number,
        "Demande d'acte de naissance",
        "Acceptée",
        "'+Nadia @LEROY",
        citizen.email,
        timezone.localtime(with_account.submitted_at).strftime("%d/%m/%Y %H:%M"),
        closed_at,
        "Claire MARTIN",
    ]
    assert len(rows) == 3
    # The same filters as the queue.
    rows = read_csv(client_ec.get(f"{BASE}export/", {"statut": "acceptee"}))
    assert [row[0] for row in rows[1:]] == [with_account.number]


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_the_export_neutralises_every_formula_start(client_ec, procedure, start):
    make_demande(procedure, name=f"{start}1+1")
    rows = read_csv(client_ec.get(f"{BASE}export/"))
    assert rows[1][3] == f"'{start}1+1"


def test_the_export_leaves_out_what_the_agent_may_not_see(client_ec, procedure, enfance_procedure):
    mine = make_demande(procedure)
    make_demande(enfance_procedure)
    other_commune = ProcedureFactory(commune=CommuneFactory())
    make_demande(other_commune)
    rows = read_csv(client_ec.get(f"{BASE}export/"))
    assert [row[0] for row in rows[1:]] == [mine.number]


# --- Attachments ---------------------------------------------------------------------------------


@pytest.fixture
def with_file(procedure):
    demande = services.start_draft(procedure=procedure, draft_key="k")
    services.save_step(demande=demande, step=1, answers={"objet": "x", "livraison": "mairie"})
    services.save_step(
        demande=demande,
        step=2,
        answers={},
        files={"piece": SimpleUploadedFile("pièce d'identité.pdf", PDF, "text/html")},
    )
    services.submit(demande=demande, contact_name="Jean", contact_email="")
    demande.refresh_from_db()
    return demande, demande.attachments.get()


def test_an_attachment_is_downloaded_with_safe_headers(client_ec, with_file):
    demande, attachment = with_file
    response = client_ec.get(f"{BASE}{demande.number}/pieces/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"  # the stored type, not the browser's
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''pi%C3%A8ce%20d%27identit%C3%A9.pdf" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == PDF


def test_an_attachment_is_refused_to_others(client, commune, with_file, enfance_agent):
    demande, attachment = with_file
    url = f"{BASE}{demande.number}/pieces/{attachment.pk}/"
    # An agent whose roles do not cover the service, an agent of another commune, a citizen.
    client.force_login(enfance_agent)
    assert client.get(url).status_code == 404
    other = CommuneFactory(slug="ailleurs")
    client.force_login(make_agent(other, AgentRole.Role.ADMINISTRATEUR))
    assert client.get(url).status_code == 404
    assert (
        client.get(
            f"/ailleurs/guichet/demandes/{demande.number}/pieces/{attachment.pk}/"
        ).status_code
        == 404
    )
    client.force_login(CitizenFactory(commune=commune))
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the guichet's login
    # The right file only under its own request's number.
    client.force_login(make_agent(commune, AgentRole.Role.ETAT_CIVIL))
    other_demande = make_demande(demande.procedure)
    assert client.get(f"{BASE}{other_demande.number}/pieces/{attachment.pk}/").status_code == 404


# --- Scoping -------------------------------------------------------------------------------------


def test_an_etat_civil_agent_neither_sees_nor_acts_on_an_enfance_request(
    client_ec, enfance_procedure, django_capture_on_commit_callbacks
):
    demande = make_demande(enfance_procedure, name="Paul ENFANCE")
    assert "Paul ENFANCE" not in text_of(client_ec.get(BASE))
    assert client_ec.get(f"{BASE}{demande.number}/").status_code == 404
    for action in ("prendre", "complement", "accepter", "refuser", "classer", "message"):
        response = post_action(client_ec, demande, action, "texte")
        assert response.status_code == 404, action
    demande.refresh_from_db()
    assert demande.status == Status.EN_ATTENTE and not demande.messages.exists()
    counts = client_ec.get(BASE).context["counts"]
    assert sum(c.count for c in counts) == 0
    # Its own procedure is not even offered in the filter.
    assert "Autorisation parentale" not in client_ec.get(BASE).content.decode()


def test_the_administrator_sees_every_service(client, commune, procedure, enfance_procedure):
    make_demande(procedure, name="Paul CIVIL")
    make_demande(enfance_procedure, name="Paul ENFANCE")
    client.force_login(make_agent(commune, AgentRole.Role.ADMINISTRATEUR))
    text = text_of(client.get(BASE))
    assert "Paul CIVIL" in text and "Paul ENFANCE" in text


def test_an_agent_of_another_commune_gets_404(client, demande):
    other = CommuneFactory(slug="ailleurs")
    client.force_login(make_agent(other, AgentRole.Role.ADMINISTRATEUR))
    for url in (BASE, f"{BASE}{demande.number}/", f"{BASE}export/"):
        assert client.get(url).status_code == 404
    assert client.post(f"{BASE}{demande.number}/accepter/").status_code == 404
    assert (
        client.post(f"{BASE}lot/", {"demandes": [demande.number], "action": "accepter"}).status_code
        == 404
    )
    # Under their own commune's address, the number names nothing of theirs.
    assert client.get(f"/ailleurs/guichet/demandes/{demande.number}/").status_code == 404
    demande.refresh_from_db()
    assert demande.status == Status.EN_ATTENTE


def test_the_navigation_marks_demandes_on_each_page_of_the_queue(client_ec, demande):
    for url in (BASE, f"{BASE}{demande.number}/"):
        html = client_ec.get(url).content.decode()
        assert 'href="/villebois/guichet/demandes/"' in html
        assert 'aria-current="page">Demandes</a>' in html
    # And on the family search too, unmarked.
    html = client_ec.get("/villebois/guichet/").content.decode()
    assert ">Demandes</a>" in html and 'aria-current="page">Demandes</a>' not in html
