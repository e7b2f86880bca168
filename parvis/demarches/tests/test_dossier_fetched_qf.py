"""Issue 20 §2: a QF fetched from the CAF/MSA through API Particulier « replaces the manual
computation from a tax notice when present ». The administrative file's tax-notice requirement is
met, with no document, by the household's current QF when it was fetched (source
API_PARTICULIER) and still counts in the school year: on the family's page and « Créer une
inscription », at « Valider », in the agent's family file and for the activities that require a
complete file. Another source, a fetched QF superseded by a later one, an expired one or one that
ends before the school year do not. One query more at most, the same whatever the families."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from parvis.activities.selectors_foyer import _files_complete
from parvis.demarches.guichet.selectors_documents import family_papers
from parvis.demarches.models import Status
from parvis.demarches.tests.suivi_support import log_in, text_of
from parvis.demarches.tests.test_dossier_pages import (
    dossier_url,
    dossier_world,
    file_dossier,
    index_url,
)
from parvis.families.documents import (
    FileState,
    SlotState,
    dossier_state,
    fetched_quotient_for_year,
)
from parvis.families.models import (
    DocumentType,
    Provider,
    QfSource,
    QuotientFamilial,
    RequiredDocument,
)
from parvis.families.selectors import famille_file
from parvis.families.selectors_documents import dossier
from parvis.families.tests.factories import make_document

pytestmark = pytest.mark.django_db

TODAY = date(2026, 10, 15)
YEAR = 2026


def qf(source=QfSource.API_PARTICULIER, *, start=date(2026, 10, 1), end=date(2027, 8, 31), pk=1):
    return QuotientFamilial(
        pk=pk,
        value=Decimal("612"),
        source=source,
        valid_from=start,
        valid_until=end,
        created_at=datetime(2026, 10, 1, 9, 0, tzinfo=timezone.get_current_timezone())
        + timedelta(minutes=pk),
    )


# --- The rule, pure ---------------------------------------------------------------------------


def test_a_current_fetched_qf_counts_for_the_school_year_it_reaches():
    fetched = qf()
    assert fetched_quotient_for_year([fetched], school_year=YEAR, today=TODAY) is fetched


@pytest.mark.parametrize("source", [QfSource.CAF, QfSource.AVIS_IMPOSITION, QfSource.AGENT])
def test_a_qf_of_another_source_does_not(source):
    assert fetched_quotient_for_year([qf(source)], school_year=YEAR, today=TODAY) is None


def test_a_fetched_qf_superseded_by_a_later_one_does_not():
    later = qf(QfSource.AGENT, start=date(2026, 10, 10), pk=2)
    assert fetched_quotient_for_year([qf(), later], school_year=YEAR, today=TODAY) is None
    # Recorded the same day, the latest recorded is the current one (services.current_quotient).
    same_day_agent = qf(QfSource.AGENT, pk=2)
    assert fetched_quotient_for_year([qf(), same_day_agent], school_year=YEAR, today=TODAY) is None
    refetched = qf(pk=3)
    assert (
        fetched_quotient_for_year([qf(), same_day_agent, refetched], school_year=YEAR, today=TODAY)
        is refetched
    )


def test_an_expired_or_future_fetched_qf_does_not():
    expired = qf(start=date(2026, 1, 1), end=date(2026, 10, 14))
    assert fetched_quotient_for_year([expired], school_year=YEAR, today=TODAY) is None
    future = qf(start=date(2026, 10, 16))
    assert fetched_quotient_for_year([future], school_year=YEAR, today=TODAY) is None
    last_day = qf(start=date(2026, 1, 1), end=TODAY)
    assert fetched_quotient_for_year([last_day], school_year=YEAR, today=TODAY) is last_day


def test_a_qf_ending_before_the_school_year_does_not_serve_it():
    # Fetched in June for the current year (to 31 August): the coming year needs its own.
    june = qf(start=date(2026, 6, 1), end=date(2026, 8, 31))
    assert fetched_quotient_for_year([june], school_year=2025, today=date(2026, 6, 20)) is june
    assert fetched_quotient_for_year([june], school_year=2026, today=date(2026, 6, 20)) is None


def test_it_fills_the_tax_notice_slots_only():
    avis = RequiredDocument(pk=1, school_year=YEAR, doc_type=DocumentType.AVIS_IMPOSITION)
    avis.provider = Provider.FOYER
    domicile = RequiredDocument(
        pk=2, school_year=YEAR, doc_type=DocumentType.JUSTIFICATIF_DOMICILE, provider=Provider.FOYER
    )
    fetched = qf()
    state = dossier_state(
        requirements=[avis, domicile],
        members=[],
        documents=[],
        school_year=YEAR,
        today=TODAY,
        quotients=[fetched],
    )
    assert [(s.state, s.quotient) for s in state.slots] == [
        (SlotState.VALIDE, fetched),
        (SlotState.MANQUANT, None),
    ]
    without = dossier_state(
        requirements=[avis, domicile], members=[], documents=[], school_year=YEAR, today=TODAY
    )
    assert [s.state for s in without.slots] == [SlotState.MANQUANT, SlotState.MANQUANT]


# --- The pages and their callers --------------------------------------------------------------


def record(famille, source=QfSource.API_PARTICULIER, **dates):
    today = timezone.localdate()
    return QuotientFamilial.objects.create(
        commune=famille.commune,
        famille=famille,
        value=Decimal("612.00"),
        source=source,
        valid_from=dates.get("start", today.replace(day=1)),
        valid_until=dates.get("end", date(today.year + (today.month >= 9), 8, 31)),
        details={"regime": "CNAF"},
    )


def fill_but_the_notice(w):
    make_document(famille=w.famille, doc_type=DocumentType.JUSTIFICATIF_DOMICILE, status="valide")
    for kid in w.children:
        make_document(
            famille=w.famille,
            doc_type=DocumentType.ATTESTATION_ASSURANCE,
            personne=kid,
            status="valide",
        )


def avis_slot(state):
    return next(s for s in state.slots if s.requirement.doc_type == DocumentType.AVIS_IMPOSITION)


def test_the_familys_file_is_complete_with_a_fetched_qf_and_not_with_a_caf_one(client):
    w = dossier_world()
    fill_but_the_notice(w)
    record(w.famille, QfSource.CAF)
    assert dossier(famille=w.famille, school_year=w.year).state == FileState.INCOMPLET
    record(w.famille)
    state = dossier(famille=w.famille, school_year=w.year)
    assert state.state == FileState.COMPLET
    assert avis_slot(state).document is None
    log_in(client, w.user)
    page = text_of(client.get(dossier_url(w.commune)))
    assert "Tous les documents demandés sont validés par le service." in page
    assert "il remplace l'avis d'imposition" in page
    assert "Joindre quand même un avis d'imposition" in page
    assert "Il manque" not in page
    index = client.get(index_url(w.commune))
    assert [line.state for line in index.context["offers"][0].lines] == [FileState.COMPLET]


def test_valider_files_the_request_without_a_tax_notice_document():
    w = dossier_world()
    fill_but_the_notice(w)
    record(w.famille)
    demande = file_dossier(famille=w.famille, user=w.user, school_year=w.year)
    assert demande.number and demande.status != Status.BROUILLON
    assert "quotient familial CAF ou MSA (API Particulier)" in demande.answers["documents"]
    assert len(demande.answers["document_ids"]) == 1 + len(w.children)


def test_an_activity_requiring_a_complete_file_reads_it_too():
    w = dossier_world()
    fill_but_the_notice(w)
    activity = SimpleNamespace(
        pk=1, requires_complete_file=True, start=date(w.year, 9, 2), commune_id=w.commune.pk
    )
    line = SimpleNamespace(
        child=SimpleNamespace(famille_id=w.famille.pk), famille_id=w.famille.pk, activity=activity
    )  # a selectors_foyer.Line: the booking household is the child's
    today = timezone.localdate()
    assert _files_complete([line], today=today) == {(w.famille.pk, 1): False}
    record(w.famille)
    assert _files_complete([line], today=today) == {(w.famille.pk, 1): True}


def test_the_agents_family_file_counts_the_notice_as_given():
    w = dossier_world()
    record(w.famille)
    famille = famille_file(w.commune, w.famille.number)
    papers = family_papers(famille, agent=None)  # no document: nothing to filter by service
    current = next(d for d in papers.dossiers if d.school_year == w.year)
    assert avis_slot(current).state == SlotState.VALIDE
    assert [s.requirement.doc_type for s in current.missing] == [
        DocumentType.JUSTIFICATIF_DOMICILE,
        *[DocumentType.ATTESTATION_ASSURANCE] * len(w.children),
    ]


# --- Cost ---------------------------------------------------------------------------------------


def quotient_queries(queries) -> int:
    return sum("families_quotientfamilial" in q["sql"] for q in queries.captured_queries)


def test_the_pages_read_the_qfs_once_whatever_the_families(client):
    w = dossier_world()
    log_in(client, w.user)

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries), quotient_queries(queries)

    bare_page, bare_index = count(dossier_url(w.commune)), count(index_url(w.commune))
    assert bare_page[1] == 1 and bare_index[1] == 1
    fill_but_the_notice(w)
    record(w.famille)
    record(w.famille, QfSource.CAF, start=timezone.localdate().replace(day=1))
    assert count(dossier_url(w.commune)) == bare_page
    assert count(index_url(w.commune)) == bare_index
