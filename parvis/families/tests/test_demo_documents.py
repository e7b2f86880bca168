"""The demo's documents (issue 5): DURAND's validated tax notice and its QF, an expired proof of
address, one document waiting for an agent, and Carrières-sous-Poissy's administrative file."""

from datetime import date
from decimal import Decimal

import pytest

from parvis.families import demo, demo_documents
from parvis.families.documents import FileState, SlotState
from parvis.families.models import Document, DocumentStatus, DocumentType
from parvis.families.selectors_documents import dossier, dossier_years
from parvis.families.services import current_quotient
from parvis.uploads import check_upload

TODAY = date(2026, 11, 22)


@pytest.fixture
def durand(demo_communes):
    demo.load()
    demo_documents.load(today=TODAY)
    return demo_communes["carrieres-sous-poissy"].famille_set.get(number=1)


def test_durand_has_a_validated_tax_notice_and_its_qf(durand):
    notice = durand.documents.get(doc_type=DocumentType.AVIS_IMPOSITION)
    assert notice.state(TODAY) == DocumentStatus.VALIDE
    assert notice.income_year == 2025 and notice.valid_until == date(2027, 8, 31)
    quotient = current_quotient(durand, on=TODAY)
    # (38 400 / 12 + 151,05) / 3 parts = 1 117,016… → 1 117,02 €
    assert quotient.value == Decimal("1117.02")
    assert (quotient.valid_from, quotient.valid_until) == (date(2026, 9, 1), date(2027, 8, 31))
    assert Decimal(quotient.details["parts"]) == 3


def test_the_proof_of_address_has_expired_and_one_document_waits(durand):
    proof = durand.documents.get(doc_type=DocumentType.JUSTIFICATIF_DOMICILE)
    assert proof.status == DocumentStatus.VALIDE
    assert proof.state(TODAY) == DocumentStatus.EXPIRE
    assert proof.valid_until < TODAY
    waiting = durand.documents.filter(status=DocumentStatus.DEPOSE)
    assert [d.doc_type for d in waiting] == [DocumentType.ATTESTATION_ASSURANCE]
    assert waiting.get().personne.first_names == "Léa"


def test_the_administrative_file_says_what_is_missing(durand):
    assert dossier_years(commune=durand.commune, today=TODAY) == [2026]
    state = dossier(famille=durand, school_year=2026, today=TODAY)
    assert state.state == FileState.INCOMPLET
    by_label = {slot.label: slot.state for slot in state.slots}
    assert by_label == {
        "Avis d'imposition": SlotState.VALIDE,
        "Justificatif de domicile": SlotState.MANQUANT,
        "Attestation d'assurance — Léa DURAND": SlotState.A_VALIDER,
        "Attestation d'assurance — Hugo DURAND": SlotState.MANQUANT,
    }


def test_demo_files_are_real_pdfs_in_private_storage(durand):
    for document in durand.documents.all():
        with document.file.open("rb") as handle:
            assert check_upload(handle) == "application/pdf"
            handle.seek(0)
            assert handle.read().rstrip().endswith(b"%%EOF")
        assert document.size == document.file.size


def test_loading_again_rewrites_nothing_and_restores_a_lost_file(durand):
    names = sorted(durand.documents.values_list("file", flat=True))
    lost = Document.objects.get(famille=durand, doc_type=DocumentType.AVIS_IMPOSITION)
    lost.file.storage.delete(lost.file.name)
    demo_documents.load(today=TODAY)
    assert durand.documents.count() == 3
    assert durand.quotients.count() == 1
    restored = Document.objects.get(pk=lost.pk)
    assert restored.file.storage.exists(restored.file.name)
    kept = sorted(durand.documents.values_list("file", flat=True))
    assert [n for n in kept if n != restored.file.name] == [n for n in names if n != lost.file.name]
