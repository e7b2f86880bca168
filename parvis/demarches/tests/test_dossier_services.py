"""Filing the administrative file (demarches/services_dossier.py): « Valider » with documents
missing is refused with the list; clicked twice it files one request; the request's answers list
the documents and the school year, under the commune's numbering; once an agent has validated
every document, settle_dossiers accepts the open request (also from « complément demandé »),
with its history."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from parvis.accounts.models import AgentRole
from parvis.demarches import services
from parvis.demarches.models import Demande, DemandeEvent, Procedure, Status
from parvis.demarches.services_dossier import (
    DossierNotReady,
    open_dossier_demandes,
    settle_dossiers,
)
from parvis.demarches.tests.test_dossier_pages import (
    dossier_world,
    file_dossier,
    fill_everything,
)
from parvis.families.models import Document, DocumentStatus, DocumentType, RequiredDocument
from parvis.families.services_documents import review_document
from parvis.families.tests.factories import AgentFactory, make_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return dossier_world(children=2)


@pytest.fixture
def agent(w):
    return AgentFactory(commune=w.commune, roles=[AgentRole.Role.ENFANCE])


def validate_all(famille, agent):
    for document in Document.objects.filter(famille=famille, status=DocumentStatus.DEPOSE):
        review_document(document=document, actor=agent, to=DocumentStatus.VALIDE)


# --- « Valider » ----------------------------------------------------------------------------------


def test_missing_documents_refuse_the_filing_with_their_list(w):
    make_document(famille=w.famille, doc_type=DocumentType.JUSTIFICATIF_DOMICILE)
    make_document(
        famille=w.famille, doc_type=DocumentType.ATTESTATION_ASSURANCE, personne=w.children[0]
    )

    with pytest.raises(DossierNotReady) as refused:
        file_dossier(famille=w.famille, user=w.user, school_year=w.year)

    second = w.children[1]
    assert str(refused.value) == (
        f"Il manque encore : Avis d'imposition, Attestation d'assurance — {second}."
    )
    assert not Demande.objects.exclude(status=Status.BROUILLON).exists()


def test_a_year_without_requirement_cannot_be_filed(w):
    with pytest.raises(DossierNotReady, match="ne demande aucun document"):
        file_dossier(famille=w.famille, user=w.user, school_year=w.year + 5)


def test_a_commune_whose_procedure_is_off_refuses_the_filing(w):
    fill_everything(w)
    Procedure.objects.filter(commune=w.commune).update(is_enabled=False)
    with pytest.raises(DossierNotReady, match="ne reçoit pas de dossier administratif"):
        file_dossier(famille=w.famille, user=w.user, school_year=w.year)


def test_filing_makes_one_numbered_request_listing_the_documents_and_the_year(
    w, django_capture_on_commit_callbacks
):
    fill_everything(w, status="depose")
    validated = Document.objects.get(famille=w.famille, doc_type=DocumentType.AVIS_IMPOSITION)
    review_document(
        document=validated,
        actor=AgentFactory(commune=w.commune),
        to=DocumentStatus.VALIDE,
    )

    with django_capture_on_commit_callbacks(execute=True):
        demande = file_dossier(famille=w.famille, user=w.user, school_year=w.year)

    assert demande.status == Status.EN_ATTENTE
    assert demande.number == f"DEM-{timezone.localdate().year}-000001"
    assert demande.famille == w.famille and demande.requester == w.user
    assert demande.procedure.slug == "dossier-administratif"
    assert demande.answers["annee_scolaire"] == f"{w.year}-{w.year + 1}"
    assert demande.answers["school_year"] == w.year
    ids = set(Document.objects.filter(famille=w.famille).values_list("pk", flat=True))
    assert set(demande.answers["document_ids"]) == ids
    lines = demande.answers["documents"].splitlines()
    assert lines[0] == "Avis d'imposition : Avis 2025 (validé)"
    assert lines[1].startswith("Justificatif de domicile : ") and lines[1].endswith("(à valider)")
    assert len(lines) == 2 + len(w.children)
    for child in w.children:
        assert any(line.startswith(f"Attestation d'assurance — {child} : ") for line in lines)
    assert list(demande.events.values_list("from_status", "to_status")) == [
        (Status.BROUILLON, Status.EN_ATTENTE)
    ]
    # The requester gets the usual e-mail of a filed request.
    assert demande.number in mail.outbox[-1].body


def test_clicking_valider_twice_files_one_request(w):
    fill_everything(w, status="depose")
    first = file_dossier(famille=w.famille, user=w.user, school_year=w.year)

    with pytest.raises(DossierNotReady) as refused:
        file_dossier(famille=w.famille, user=w.user, school_year=w.year)

    assert first.number in str(refused.value)
    assert "déjà transmis" in str(refused.value)
    assert Demande.objects.filter(famille=w.famille).count() == 1
    assert list(open_dossier_demandes(famille=w.famille, school_year=w.year)) == [first]


def test_requests_are_numbered_per_commune_in_filing_order(w):
    fill_everything(w, status="depose")
    neighbour = dossier_world(commune=w.commune)
    fill_everything(neighbour, status="depose")
    elsewhere = dossier_world()
    fill_everything(elsewhere, status="depose")
    year = timezone.localdate().year

    numbers = [
        file_dossier(famille=x.famille, user=x.user, school_year=x.year).number
        for x in (w, neighbour, elsewhere)
    ]

    assert numbers == [f"DEM-{year}-000001", f"DEM-{year}-000002", f"DEM-{year}-000001"]


def test_each_school_year_is_its_own_request(w):
    fill_everything(w, status="depose")
    RequiredDocument.objects.create(
        commune=w.commune,
        school_year=w.year + 1,
        service=w.service,
        doc_type=DocumentType.JUSTIFICATIF_DOMICILE,
    )
    this_year = file_dossier(famille=w.famille, user=w.user, school_year=w.year)
    next_year = file_dossier(famille=w.famille, user=w.user, school_year=w.year + 1)
    assert this_year.pk != next_year.pk
    assert next_year.answers["school_year"] == w.year + 1


# --- settle_dossiers ------------------------------------------------------------------------------


def test_all_documents_validated_accepts_the_request_with_its_history(w, agent):
    fill_everything(w, status="depose")
    demande = file_dossier(famille=w.famille, user=w.user, school_year=w.year)

    assert settle_dossiers(famille=w.famille, actor=agent) == []  # still « à valider »
    demande.refresh_from_db()
    assert demande.status == Status.EN_ATTENTE

    validate_all(w.famille, agent)
    accepted = settle_dossiers(famille=w.famille, actor=agent)

    demande.refresh_from_db()
    assert [d.pk for d in accepted] == [demande.pk]
    assert demande.status == Status.ACCEPTEE and demande.closed_at is not None
    last = DemandeEvent.objects.filter(demande=demande).last()
    assert (last.from_status, last.to_status, last.actor) == (
        Status.EN_ATTENTE,
        Status.ACCEPTEE,
        agent,
    )
    assert last.comment == "Dossier complet : tous les documents sont validés."
    # Settled once: nothing more to accept.
    assert settle_dossiers(famille=w.famille, actor=agent) == []


def test_a_request_waiting_for_a_complement_is_accepted_once_complete(w, agent):
    fill_everything(w, status="depose")
    demande = file_dossier(famille=w.famille, user=w.user, school_year=w.year)
    services.ask_complement(demande=demande, agent=agent, message="L'avis est illisible.")

    validate_all(w.famille, agent)
    settle_dossiers(famille=w.famille, actor=agent)

    demande.refresh_from_db()
    assert demande.status == Status.ACCEPTEE
    assert list(demande.events.values_list("from_status", "to_status")) == [
        (Status.BROUILLON, Status.EN_ATTENTE),
        (Status.EN_ATTENTE, Status.COMPLEMENT),
        (Status.COMPLEMENT, Status.EN_COURS),
        (Status.EN_COURS, Status.ACCEPTEE),
    ]


def test_a_refused_document_keeps_the_request_open(w, agent):
    fill_everything(w, status="depose")
    demande = file_dossier(famille=w.famille, user=w.user, school_year=w.year)
    avis = Document.objects.get(famille=w.famille, doc_type=DocumentType.AVIS_IMPOSITION)
    review_document(document=avis, actor=agent, to=DocumentStatus.REFUSE, reason="Illisible")
    validate_all(w.famille, agent)

    assert settle_dossiers(famille=w.famille, actor=agent) == []
    demande.refresh_from_db()
    assert demande.status == Status.EN_ATTENTE


def test_settling_touches_only_the_familys_own_requests(w, agent):
    neighbour = dossier_world(commune=w.commune)
    fill_everything(w, status="depose")
    fill_everything(neighbour, status="depose")
    theirs = file_dossier(famille=neighbour.famille, user=neighbour.user, school_year=w.year)
    validate_all(neighbour.famille, agent)

    assert settle_dossiers(famille=w.famille, actor=agent) == []
    theirs.refresh_from_db()
    assert theirs.status == Status.EN_ATTENTE
