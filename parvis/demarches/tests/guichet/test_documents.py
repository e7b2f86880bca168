"""The guichet's documents: the queue of documents to validate (oldest first, per service, scoped
to the agent), one document with its preview and history, « Valider » / « Refuser » through one
service that also settles the family's administrative-file request, the batch validation, the
file's headers, and the family file's documents and administrative-file states."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.background import jobs
from parvis.background.models import Job
from parvis.communes.tests.factories import CommuneFactory, ServiceFactory
from parvis.demarches import services_dossier, services_lots
from parvis.demarches.models import Audience, Status
from parvis.demarches.services_dossier import DOSSIER_SLUG, file_dossier
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.demarches.tests.suivi_support import PDF_BYTES, png_upload
from parvis.families.documents import school_year_of
from parvis.families.models import Document, DocumentEvent, RequiredDocument
from parvis.families.tests.factories import (
    ChildFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
    make_document,
    pdf_upload,
)
from parvis.testing.guichet import make_agent, text_of

pytestmark = pytest.mark.django_db

QUEUE = "/villebois/guichet/documents/"
BATCH = "/villebois/guichet/documents/lot/"


def url(document, action: str = "") -> str:
    return f"{QUEUE}{document.pk}/" + (f"{action}/" if action else "")


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def deposited(famille, *, days_ago: int = 0, **fields) -> Document:
    """A document « déposé », `days_ago` days ago."""
    document = make_document(famille=famille, **fields)
    Document.objects.filter(pk=document.pk).update(
        uploaded_at=timezone.now() - timedelta(days=days_ago)
    )
    document.refresh_from_db()
    return document


@pytest.fixture
def enfance_doc(famille, enfance_service):
    return deposited(famille, service=enfance_service, label="Avis 2025 DURAND", days_ago=3)


@pytest.fixture
def regie_doc(famille, regie_service):
    return deposited(famille, service=regie_service, label="Avis pour la régie", days_ago=5)


@pytest.fixture
def loose_doc(famille):
    """Stored outside any administrative file: no service."""
    return deposited(famille, doc_type="justificatif_domicile", label="Facture EDF", days_ago=1)


# --- The queue -----------------------------------------------------------------------------------


def test_the_queue_lists_deposited_documents_oldest_first_with_their_columns(
    agent_client, famille, enfance_service
):
    hugo = ChildFactory(famille=famille, first_names="Hugo")
    newer = deposited(famille, service=enfance_service, label="Récent", days_ago=1)
    older = deposited(
        famille,
        service=enfance_service,
        doc_type="certificat_medical",
        personne=hugo,
        label="Certificat Hugo",
        days_ago=10,
        document_date=timezone.localdate() - timedelta(days=10),
    )
    make_document(famille=famille, service=enfance_service, status="valide", label="Déjà validé")
    make_document(famille=famille, service=enfance_service, status="refuse", label="Déjà refusé")

    response = agent_client.get(QUEUE)

    assert response.status_code == 200
    assert [row[0] for row in response.context["rows"]] == [older, newer]
    text = text_of(response)
    assert "2 documents à valider" in text
    assert "Déjà validé" not in text and "Déjà refusé" not in text
    row = text[text.index("Certificat Hugo DURAND (F000001)") :]
    until = (older.document_date.replace(year=older.document_date.year + 1)).strftime("%d/%m/%Y")
    assert row.startswith(
        f"Certificat Hugo DURAND (F000001) Hugo DURAND Certificat médical Périscolaire "
        f"{older.uploaded_at.astimezone(timezone.get_current_timezone()):%d/%m/%Y} "
        f"jusqu'au {until}"
    )
    html = response.content.decode()
    assert 'href="/villebois/guichet/familles/1/"' in html
    assert f'href="{url(older)}"' in html
    assert "Tout le foyer" in text  # the household's document
    assert 'aria-current="page">Documents à valider</a>' in html


def test_an_expired_deposited_document_says_so(agent_client, famille, enfance_service):
    deposited(
        famille,
        service=enfance_service,
        doc_type="justificatif_domicile",
        label="Vieille facture",
        document_date=timezone.localdate() - timedelta(days=200),
    )
    text = text_of(agent_client.get(QUEUE))
    assert "(expiré)" in text


def test_an_agent_sees_only_the_services_they_cover(
    client, commune, famille, enfance_doc, regie_doc, loose_doc
):
    other = FamilleFactory(commune=CommuneFactory(slug="ailleurs"), number=1)
    foreign = deposited(other, label="Document d'une autre commune")
    cases = {
        AgentRole.Role.ENFANCE: {enfance_doc, loose_doc},  # edits families: « Sans service »
        AgentRole.Role.REGIE: {regie_doc},  # does not edit families: no loose document
        AgentRole.Role.ADMINISTRATEUR: {enfance_doc, regie_doc, loose_doc},
    }
    for role, expected in cases.items():
        client.force_login(make_agent(commune, role))
        rows = client.get(QUEUE).context["rows"]
        assert {document for document, _box in rows} == expected, role
        assert foreign not in {document for document, _box in rows}


def test_the_queue_filters_by_service_and_without_service(
    agent_client, commune, enfance_service, enfance_doc, loose_doc, regie_doc
):
    other_enfance = ServiceFactory(commune=commune, name="Centre de loisirs", kind="enfance")
    leisure = deposited(enfance_doc.famille, service=other_enfance, label="Loisirs")
    form = agent_client.get(QUEUE).context["form"]
    labels = [label for _value, label in form.fields["service"].choices]
    assert labels == ["Tous vos services", "Centre de loisirs", "Périscolaire", "Sans service"]
    assert "Régie" not in labels

    def listed(query):
        return [d for d, _box in agent_client.get(QUEUE, query).context["rows"]]

    assert listed({"service": enfance_service.pk}) == [enfance_doc]
    assert listed({"service": other_enfance.pk}) == [leisure]
    assert listed({"service": "sans"}) == [loose_doc]
    # Another's service in the URL is no filter at all (and never shows its documents).
    assert regie_doc not in listed({"service": regie_doc.service_id})
    assert set(listed({"service": "n'importe quoi"})) == {enfance_doc, leisure, loose_doc}


def test_sans_service_is_offered_only_to_family_editors(client, commune, regie_service):
    client.force_login(make_agent(commune, AgentRole.Role.REGIE))
    form = client.get(QUEUE).context["form"]
    assert [label for _value, label in form.fields["service"].choices] == [
        "Tous vos services",
        "Régie",
    ]


def test_the_queue_is_paginated(agent_client, famille, enfance_service):
    for i in range(26):
        deposited(famille, service=enfance_service, label=f"Doc {i:02d}", days_ago=30 - i)
    first = agent_client.get(QUEUE)
    assert len(first.context["rows"]) == 25
    assert "Page 1 sur 2" in text_of(first)
    second = agent_client.get(QUEUE, {"page": 2, "service": enfance_service.pk})
    assert [d.label for d, _box in second.context["rows"]] == ["Doc 25"]
    assert f"service={enfance_service.pk}" in second.content.decode()  # the filter is kept


def test_the_queue_costs_the_same_for_1_or_20_documents(
    agent_client, commune, enfance_service, django_assert_max_num_queries
):
    first = FamilleFactory(commune=commune, number=1)
    deposited(first, service=enfance_service, personne=PersonneFactory(famille=first))
    with CaptureQueriesContext(connection) as queries:
        assert agent_client.get(QUEUE).status_code == 200
    with_one = len(queries)
    for n in range(2, 21):
        famille = FamilleFactory(commune=commune, number=n)
        deposited(famille, service=enfance_service, personne=PersonneFactory(famille=famille))
        deposited(famille)  # no service
    with django_assert_max_num_queries(with_one):
        response = agent_client.get(QUEUE)
    assert len(response.context["rows"]) == 25


# --- One document --------------------------------------------------------------------------------


def test_the_document_page_shows_details_history_and_a_pdf_preview(
    agent_client, enfance_doc, enfance_agent
):
    response = agent_client.get(url(enfance_doc))

    assert response.status_code == 200
    text = text_of(response)
    assert "Avis 2025 DURAND" in text
    assert "État : Déposé" in text
    assert f"Année des revenus {enfance_doc.income_year}" in text
    assert "Service Périscolaire" in text
    assert "Personne concernée Tout le foyer" in text
    html = response.content.decode()
    assert re.search(rf'<iframe[^>]+src="{url(enfance_doc, "apercu")}"[^>]+title="Aperçu', html)
    assert f'href="{url(enfance_doc, "telecharger")}" download' in html
    # The page may frame its own preview, nothing else.
    policy = response["Content-Security-Policy"]
    assert "frame-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert ">Valider</button>" in html and "Refuser le document" in html


def test_an_image_is_previewed_in_an_img(agent_client, famille, enfance_service):
    document = deposited(famille, service=enfance_service, upload=png_upload(), label="Photo")
    html = agent_client.get(url(document)).content.decode()
    assert f'src="{url(document, "apercu")}"' in html
    assert 'alt="Aperçu du document « Photo »"' in html
    assert "<iframe" not in html


def test_the_preview_is_inline_framable_by_the_guichet_only(agent_client, famille, enfance_service):
    document = deposited(famille, service=enfance_service, upload=pdf_upload("avis.pdf", PDF_BYTES))
    response = agent_client.get(url(document, "apercu"))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy
    assert "default-src 'none'" in policy  # the rest of the policy stays strict
    # The rest of the guichet stays unframable.
    page = agent_client.get(QUEUE)
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_an_image_preview_keeps_its_stored_type(agent_client, famille, enfance_service):
    document = deposited(famille, service=enfance_service, upload=png_upload("photo.jpg"))
    response = agent_client.get(url(document, "apercu"))
    assert response["Content-Type"] == "image/png"  # the content's type, not the name's
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_download_is_an_attachment_with_a_safe_name(agent_client, famille, enfance_service):
    document = deposited(
        famille, service=enfance_service, upload=pdf_upload('avis "2025".pdf', PDF_BYTES)
    )
    response = agent_client.get(url(document, "telecharger"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert "avis _2025_.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert agent_client.post(url(document, "telecharger")).status_code == 405


def test_the_document_page_costs_a_constant_number_of_queries(
    agent_client, enfance_doc, enfance_agent, django_assert_max_num_queries
):
    services_dossier.review(document=enfance_doc, actor=enfance_agent, to="valide")
    with CaptureQueriesContext(connection) as queries:
        agent_client.get(url(enfance_doc))
    with_one_event = len(queries)
    other_agent = make_agent(enfance_doc.commune, AgentRole.Role.ENFANCE)
    services_dossier.review(
        document=enfance_doc, actor=other_agent, to="refuse", reason="Erreur de foyer"
    )
    with django_assert_max_num_queries(with_one_event):
        response = agent_client.get(url(enfance_doc))
    assert len(response.context["events"]) == 2


# --- Decisions -----------------------------------------------------------------------------------


def test_validating_writes_status_event_audit_and_goes_back_to_the_queue(
    agent_client, enfance_doc, enfance_agent
):
    response = agent_client.post(url(enfance_doc, "valider"))

    assert response.status_code == 302 and response["Location"] == QUEUE
    assert flash(response) == ["Le document « Avis 2025 DURAND » est validé."]
    enfance_doc.refresh_from_db()
    assert enfance_doc.status == "valide" and enfance_doc.reviewed_by == enfance_agent
    event = DocumentEvent.objects.get(document=enfance_doc)
    assert (event.from_status, event.to_status, event.actor) == ("depose", "valide", enfance_agent)
    entry = AuditEntry.objects.get(action="document.review", target_id=str(enfance_doc.pk))
    assert entry.actor == enfance_agent and entry.famille_id == enfance_doc.famille_id
    assert entry.changes == {"status": ["depose", "valide"]}


def test_refusing_needs_a_reason_shown_next_to_the_field(agent_client, enfance_doc):
    response = agent_client.post(url(enfance_doc, "refuser"), {"refus-text": "   "})

    assert response.status_code == 200
    text = text_of(response)
    assert "Motif du refus : Indiquez le motif du refus : il est envoyé à la famille." in text
    assert 'id="id_refus-text_error"' in response.content.decode()
    assert re.search(r'<details class="card demande-action"\s+open>', response.content.decode())
    # The page is whole again: its preview may still be framed.
    assert "frame-src 'self'" in response["Content-Security-Policy"]
    enfance_doc.refresh_from_db()
    assert enfance_doc.status == "depose"
    assert not AuditEntry.objects.filter(action="document.review").exists()


def test_a_long_reason_is_redisplayed_with_its_error(agent_client, enfance_doc):
    reason = "Illisible " * 600  # over 5 000 characters
    response = agent_client.post(url(enfance_doc, "refuser"), {"refus-text": reason})
    assert response.status_code == 200
    assert "Illisible Illisible" in response.content.decode()  # the agent's text is kept
    enfance_doc.refresh_from_db()
    assert enfance_doc.status == "depose"


def test_refusing_stores_the_reason_and_e_mails_the_family(
    agent_client, enfance_doc, enfance_agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            url(enfance_doc, "refuser"), {"refus-text": "Page 2 manquante."}
        )

    assert response.status_code == 302 and response["Location"] == QUEUE
    assert flash(response) == [
        "Le document « Avis 2025 DURAND » est refusé : la famille est prévenue par courriel."
    ]
    enfance_doc.refresh_from_db()
    assert enfance_doc.status == "refuse" and enfance_doc.refusal_reason == "Page 2 manquante."
    assert len(mail.outbox) == 1 and "Page 2 manquante." in mail.outbox[0].body
    entry = AuditEntry.objects.get(action="document.review")
    assert entry.changes == {"status": ["depose", "refuse"], "reason": [None, "Page 2 manquante."]}
    # The history says who refused and why.
    text = text_of(agent_client.get(url(enfance_doc)))
    assert "Déposé → Refusé Page 2 manquante." in text
    assert "Motif du refus Page 2 manquante." in text


def test_a_decision_out_of_the_table_changes_nothing(agent_client, famille, enfance_service):
    refused = make_document(famille=famille, service=enfance_service, status="refuse")
    for action, data in (("valider", {}), ("refuser", {"refus-text": "Encore"})):
        response = agent_client.post(url(refused, action), data)
        assert response.status_code == 302 and response["Location"] == url(refused)
        assert flash(response)[-1] == "Ce document est déjà « Refusé » : rien n'a été modifié."
    refused.refresh_from_db()
    assert refused.refusal_reason == "Illisible"
    assert refused.events.count() == 1
    page = text_of(agent_client.get(url(refused)))
    assert "Ce document est refusé : la famille doit en déposer un nouveau." in page


def test_a_validated_document_may_still_be_refused(agent_client, famille, enfance_service):
    document = make_document(famille=famille, service=enfance_service, status="valide")
    html = agent_client.get(url(document)).content.decode()
    assert ">Valider</button>" not in html and "Refuser le document" in html
    agent_client.post(url(document, "refuser"), {"refus-text": "Ce n'est pas le bon foyer."})
    document.refresh_from_db()
    assert document.status == "refuse"


def test_decisions_need_the_csrf_token(enfance_agent, enfance_doc):
    client = Client(enforce_csrf_checks=True)
    client.force_login(enfance_agent)
    assert client.post(url(enfance_doc, "valider")).status_code == 403
    enfance_doc.refresh_from_db()
    assert enfance_doc.status == "depose"


# --- The administrative file request is settled in the same transaction ---------------------------


@pytest.fixture
def filed(commune, famille, enfance_service):
    """A household that filed its administrative file (a tax notice, waiting) as a request."""
    ProcedureFactory(
        commune=commune,
        service=enfance_service,
        slug=DOSSIER_SLUG,
        title="Dossier administratif",
        audience=Audience.FAMILY,
    )
    year = school_year_of(timezone.localdate())
    RequiredDocument.objects.create(
        commune=commune, school_year=year, service=enfance_service, doc_type="avis_imposition"
    )
    parent = FamilyAccessFactory(famille=famille).user
    notice = make_document(
        famille=famille, service=enfance_service, income_year=year - 1, actor=parent,
        label="Avis d'imposition 2025",
    )  # fmt: skip
    demande = file_dossier(famille=famille, user=parent, school_year=year)
    demande.refresh_from_db()
    return notice, demande


def test_validating_the_last_document_accepts_the_file_request(agent_client, filed):
    notice, demande = filed
    assert demande.status == Status.EN_ATTENTE

    response = agent_client.post(url(notice, "valider"))

    demande.refresh_from_db()
    assert demande.status == Status.ACCEPTEE
    assert (
        f"Le dossier administratif de la famille DURAND est complet : la demande "
        f"{demande.number} est acceptée." in flash(response)
    )
    assert demande.events.filter(to_status=Status.ACCEPTEE).exists()


def test_the_decision_and_its_settling_are_one_transaction(agent_client, filed, monkeypatch):
    notice, _demande = filed

    def broken(**kwargs):
        raise RuntimeError("panne")

    monkeypatch.setattr(services_dossier, "settle_dossiers", broken)
    with pytest.raises(RuntimeError):
        agent_client.post(url(notice, "valider"))
    notice.refresh_from_db()
    assert notice.status == "depose"  # rolled back with the failed settling
    assert not notice.events.exists()
    assert not AuditEntry.objects.filter(action="document.review").exists()


def test_the_file_request_lists_its_documents_with_links(agent_client, filed):
    notice, demande = filed
    response = agent_client.get(f"/villebois/guichet/demandes/{demande.number}/")
    html = response.content.decode()
    assert f'href="{url(notice)}"' in html
    assert "Avis d'imposition 2025 (Avis d'imposition, Déposé) : voir l'aperçu" in text_of(response)


def test_the_file_request_hides_the_documents_of_services_not_covered(client, commune, filed):
    notice, demande = filed
    notice.service = ServiceFactory(commune=commune, name="Régie", kind="regie")
    notice.save(update_fields=["service"])
    client.force_login(make_agent(commune, AgentRole.Role.ENFANCE))
    response = client.get(f"/villebois/guichet/demandes/{demande.number}/")
    assert f'href="{url(notice)}"' not in response.content.decode()
    assert "Aucun document de ce dossier ne relève de vos services." in text_of(response)


# --- Batch ---------------------------------------------------------------------------------------


def job_page(client, response):
    """The batch's job page the action redirected to, and its text."""
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/villebois/guichet/travaux/{job.pk}/"
    return job, text_of(client.get(response["Location"]))


def test_the_batch_validates_what_the_agent_may_see_and_ignores_the_rest(
    agent_client, commune, famille, enfance_agent, enfance_doc, regie_doc, loose_doc,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    other = FamilleFactory(commune=CommuneFactory(slug="ailleurs"), number=1)
    foreign = deposited(other)
    done_before = make_document(famille=famille, service=enfance_doc.service, status="valide")
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            BATCH,
            {
                "documents": [
                    enfance_doc.pk, loose_doc.pk, regie_doc.pk, foreign.pk, done_before.pk,
                    "pirate", 999999,
                ],
                "retour": f"{QUEUE}?service=sans",
            },
        )  # fmt: skip

    job, text = job_page(agent_client, response)
    assert job.return_url == f"{QUEUE}?service=sans"
    # Only the documents the agent may see are in the job (« pirate » is no id at all).
    assert (job.status, job.done, job.total) == (Job.Status.DONE, 3, 3)
    assert job.params["not_found"] == 3
    assert "2 documents validés." in text
    assert "4 documents n'ont pas été validés : introuvables ou déjà examinés." in text
    statuses = {
        d.pk: d.status
        for d in Document.objects.filter(
            pk__in=[enfance_doc.pk, loose_doc.pk, regie_doc.pk, foreign.pk]
        )
    }
    assert statuses == {
        enfance_doc.pk: "valide",
        loose_doc.pk: "valide",
        regie_doc.pk: "depose",  # another service's
        foreign.pk: "depose",  # another commune's
    }
    entries = AuditEntry.objects.filter(action="document.review", actor=enfance_agent)
    assert sorted(int(e.target_id) for e in entries) == sorted([enfance_doc.pk, loose_doc.pk])
    assert DocumentEvent.objects.filter(actor=enfance_agent).count() == 2


def test_the_batch_settles_the_file_request(
    agent_client, filed, django_capture_on_commit_callbacks
):
    notice, demande = filed
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(BATCH, {"documents": [notice.pk]})
    demande.refresh_from_db()
    assert demande.status == Status.ACCEPTEE
    _job, text = job_page(agent_client, response)
    assert (
        f"Le dossier administratif de la famille DURAND est complet : la demande "
        f"{demande.number} est acceptée."
    ) in text


def test_the_batch_has_no_cap_and_is_resumed_without_validating_twice(
    agent_client, famille, enfance_service, enfance_agent, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """Issue 17 §4: more than the old cap of 100 ticked; a worker stopped in its second batch
    leaves the first validated, and « Reprendre » validates the rest, nothing twice."""
    documents = [deposited(famille, service=enfance_service) for _index in range(5)]
    pks = [document.pk for document in documents] + list(range(10**6, 10**6 + 100))
    real, calls = services_lots.run_documents, []

    def stop_in_the_second_batch(job, items):
        calls.append(items)
        counters = real(job, items)
        if len(calls) == 2:
            raise RuntimeError("the worker stops")
        return counters

    def kind(run_batch):
        return jobs.JobKind(
            label="x", run_batch=run_batch, summary=services_lots.summary_documents, batch_size=2
        )

    monkeypatch.setitem(jobs.KINDS, services_lots.DOCUMENTS, kind(stop_in_the_second_batch))
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(BATCH, {"documents": pks})
    job = Job.objects.get()
    assert (job.status, job.done, job.total, job.error_code) == (
        Job.Status.FAILED, 2, 5, "technical",
    )  # fmt: skip
    statuses = [Document.objects.get(pk=d.pk).status for d in documents]
    assert statuses == ["valide"] * 2 + ["depose"] * 3
    monkeypatch.setitem(jobs.KINDS, services_lots.DOCUMENTS, kind(real))
    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(response["Location"], {"action": "reprendre"})
    job.refresh_from_db()
    assert (job.status, job.done) == (Job.Status.DONE, 5)
    assert (job.result["done"], job.result["left"], job.params["not_found"]) == (5, 0, 100)
    assert {Document.objects.get(pk=d.pk).status for d in documents} == {"valide"}
    entries = AuditEntry.objects.filter(action="document.review", actor=enfance_agent)
    assert entries.count() == 5
    assert DocumentEvent.objects.filter(actor=enfance_agent).count() == 5
    text = text_of(agent_client.get(response["Location"]))
    assert "5 documents validés." in text and "5 lignes sur 5 traitées" in text
    assert "100 documents n'ont pas été validés : introuvables ou déjà examinés." in text


def test_another_agent_cannot_see_a_documents_job(client, agent_client, commune, enfance_doc):
    agent_client.post(BATCH, {"documents": [enfance_doc.pk]})
    job = Job.objects.get()
    client.force_login(make_agent(commune, AgentRole.Role.ENFANCE))
    for response in (
        client.get(f"/villebois/guichet/travaux/{job.pk}/"),
        client.post(f"/villebois/guichet/travaux/{job.pk}/", {"action": "reprendre"}),
    ):
        assert response.status_code == 404


def test_a_batch_without_selection(agent_client, enfance_doc):
    response = agent_client.post(BATCH, {"retour": "https://pirate.example/"})
    assert response["Location"] == QUEUE  # never elsewhere
    assert flash(response) == ["Cochez au moins un document."]


@pytest.mark.parametrize(
    "garbage", ["-99999999999999999999", "99999999999999999999", "9" * 30, "²", "١٢٣", "４２"]
)
def test_a_batch_with_an_id_no_database_holds_is_no_500(
    agent_client, enfance_doc, garbage, django_capture_on_commit_callbacks
):
    """`documents=-99999999999999999999` was an OverflowError (a 500), « ² » a ValueError, and
    other scripts' digits became ids: none is a document. Beside a real one, it is dropped."""
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(BATCH, {"documents": [garbage, enfance_doc.pk]})
    job, text = job_page(agent_client, response)
    assert job.items == [enfance_doc.pk] and "1 document validé." in text
    enfance_doc.refresh_from_db()
    assert enfance_doc.status == "valide"


def test_a_batch_of_garbage_alone_is_nothing_ticked(agent_client, enfance_doc):
    response = agent_client.post(BATCH, {"documents": ["-99999999999999999999", "²"]})
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert flash(response) == ["Cochez au moins un document."]
    enfance_doc.refresh_from_db()
    assert enfance_doc.status == "depose"


def test_the_queue_page_has_the_batch_form(agent_client, enfance_doc):
    html = agent_client.get(QUEUE).content.decode()
    assert f'action="{BATCH}"' in html
    assert f'name="documents" value="{enfance_doc.pk}"' in html
    assert ">Valider la sélection</button>" in html
    assert "Sélectionner « Avis 2025 DURAND » de la famille DURAND" in html


# --- Scope: another service, another commune, anonymous ------------------------------------------


def test_every_document_url_is_a_404_out_of_scope(client, commune, regie_doc, famille):
    other = FamilleFactory(commune=CommuneFactory(slug="ailleurs"), number=7)
    foreign = deposited(other)
    outsider = make_agent(commune, AgentRole.Role.ETAT_CIVIL)  # neither régie nor editor
    loose = deposited(famille)
    client.force_login(outsider)
    for document in (regie_doc, loose, foreign):
        for action in ("", "apercu", "telecharger"):
            assert client.get(url(document, action)).status_code == 404, (document, action)
        for action, data in (("valider", {}), ("refuser", {"refus-text": "PIRATE"}), ("", {})):
            assert client.post(url(document, action), data).status_code == 404, (document, action)
    assert not Document.objects.exclude(status="depose").exists()
    assert not AuditEntry.objects.filter(action="document.review").exists()


def test_an_agent_of_another_commune_and_a_citizen_get_404(client, enfance_doc, famille):
    elsewhere = make_agent(CommuneFactory(slug="ailleurs"), AgentRole.Role.ADMINISTRATEUR)
    parent = FamilyAccessFactory(famille=famille).user  # even the family itself
    for user in (elsewhere, parent):
        client.force_login(user)
        for action in ("", "apercu", "telecharger"):
            assert client.get(url(enfance_doc, action)).status_code == 404
        assert client.get(QUEUE).status_code == 404


def test_an_anonymous_visitor_is_sent_to_the_guichet_login(client, enfance_doc):
    for target in (QUEUE, url(enfance_doc), url(enfance_doc, "apercu")):
        response = client.get(target)
        assert response.status_code == 302
        assert response["Location"].startswith("/villebois/guichet/connexion/?next=")
    response = client.post(url(enfance_doc, "valider"))
    assert response.status_code == 302
    enfance_doc.refresh_from_db()
    assert enfance_doc.status == "depose"


# --- The family file -----------------------------------------------------------------------------


def test_the_family_file_shows_documents_and_the_administrative_file(
    agent_client, commune, famille, enfance_service, regie_service
):
    year = school_year_of(timezone.localdate())
    hugo = ChildFactory(famille=famille, first_names="Hugo")
    for doc_type, provider in (
        ("avis_imposition", "foyer"),
        ("carnet_vaccination", "enfant"),
        ("justificatif_domicile", "foyer"),
    ):
        RequiredDocument.objects.create(
            commune=commune, school_year=year, service=enfance_service, doc_type=doc_type,
            provider=provider,
        )  # fmt: skip
    notice = make_document(
        famille=famille, service=enfance_service, income_year=year - 1, status="valide",
        label="Avis validé",
    )  # fmt: skip
    vaccination = make_document(
        famille=famille, service=enfance_service, doc_type="carnet_vaccination", personne=hugo,
        label="Carnet Hugo",
    )  # fmt: skip
    old_address = make_document(
        famille=famille, doc_type="justificatif_domicile", label="Facture de l'an dernier",
        document_date=timezone.localdate() - timedelta(days=200),
    )  # fmt: skip
    make_document(famille=famille, service=regie_service, label="Document de la régie")

    response = agent_client.get("/villebois/guichet/familles/1/")

    text = text_of(response)
    html = response.content.decode()
    assert f"Année scolaire {year}-{year + 1} : incomplet" in text
    assert "Manque : Justificatif de domicile" in text  # the old one expired
    assert "À valider : Carnet de vaccination — Hugo DURAND" in text
    for document in (notice, vaccination, old_address):
        assert f'href="{url(document)}"' in html
    assert "Avis validé État Validé" in text
    assert "Carnet Hugo État Déposé" in text
    assert "Facture de l'an dernier État Expiré" in text
    # The régie's document is neither listed nor linked for an enfance agent: it is counted.
    documents = text[text.index("Documents de la famille") : text.index("Comptes liés")]
    assert "Carnet Hugo" in documents and "Document de la régie" not in documents
    assert "1 autre document relève d'un service dont vous n'avez pas la charge." in text


def test_a_complete_file_says_so(agent_client, commune, famille, enfance_service):
    year = school_year_of(timezone.localdate())
    RequiredDocument.objects.create(
        commune=commune, school_year=year, service=enfance_service, doc_type="avis_imposition"
    )
    make_document(famille=famille, service=enfance_service, income_year=year - 1, status="valide")
    text = text_of(agent_client.get("/villebois/guichet/familles/1/"))
    assert f"Année scolaire {year}-{year + 1} : complet" in text


def test_without_requirements_the_file_says_nothing_is_asked(agent_client, famille):
    text = text_of(agent_client.get("/villebois/guichet/familles/1/"))
    assert "La commune ne demande aucun document pour les années scolaires à venir." in text
    assert "Aucun document." in text


def test_past_school_years_are_not_shown(agent_client, commune, famille, enfance_service):
    past = school_year_of(timezone.localdate()) - 1
    RequiredDocument.objects.create(
        commune=commune, school_year=past, service=enfance_service, doc_type="avis_imposition"
    )
    text = text_of(agent_client.get("/villebois/guichet/familles/1/"))
    assert f"Année scolaire {past}-{past + 1}" not in text


def test_the_family_file_costs_the_same_with_many_documents_and_quotients(
    agent_client, commune, famille, enfance_agent, enfance_service, django_assert_max_num_queries
):
    from parvis.families.services import record_quotient

    year = school_year_of(timezone.localdate())
    for offset in (0, 1):
        RequiredDocument.objects.create(
            commune=commune, school_year=year + offset, service=enfance_service,
            doc_type="carnet_vaccination", provider="enfant",
        )  # fmt: skip
    ChildFactory(famille=famille)
    make_document(famille=famille, service=enfance_service, doc_type="carnet_vaccination")
    with CaptureQueriesContext(connection) as queries:
        agent_client.get("/villebois/guichet/familles/1/")
    baseline = len(queries)
    for i in range(10):
        child = ChildFactory(famille=famille)
        make_document(
            famille=famille, service=enfance_service, doc_type="carnet_vaccination",
            personne=child, status="valide" if i % 2 else "depose",
        )  # fmt: skip
        record_quotient(
            famille=famille, actor=enfance_agent, source="caf", value=500 + i,
            valid_from=date(2020 + i, 1, 1), valid_until=date(2020 + i, 12, 31),
        )  # fmt: skip
    with django_assert_max_num_queries(baseline):
        response = agent_client.get("/villebois/guichet/familles/1/")
    assert len(response.context["papers"].documents) == 11
    assert len(response.context["papers"].quotients) == 10
