"""The completeness rules of the administrative file (families/documents.py dossier_state), as
pure functions over unsaved rows: a slot per requirement for the household, per responsable or
per child; a validated document that counts makes it « valide », a deposited one « à valider »,
a refused or expired one nothing; a tax notice counts only for the school year after its income
year. Hypothesis checks the file's state against an independent statement of the rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from parvis.families.documents import (
    FileState,
    SlotState,
    add_months,
    dossier_state,
    valid_until,
)
from parvis.families.models import (
    Document,
    DocumentStatus,
    DocumentType,
    MemberKind,
    Personne,
    Provider,
    RequiredDocument,
)

TODAY = date(2026, 10, 15)
YEAR = 2026  # the school year 2026-2027: the tax notice on 2025 incomes

_pk = iter(range(1, 10**9))


def requirement(doc_type, provider=Provider.FOYER) -> RequiredDocument:
    return RequiredDocument(
        pk=next(_pk), school_year=YEAR, doc_type=doc_type, provider=provider, position=0
    )


def member(kind=MemberKind.RESPONSABLE, name="Françoise") -> Personne:
    return Personne(pk=next(_pk), kind=kind, first_names=name, last_name="DURAND")


def child(name="Léa") -> Personne:
    return member(MemberKind.ENFANT, name)


def document(
    doc_type,
    *,
    personne=None,
    status=DocumentStatus.VALIDE,
    income_year=None,
    document_date=None,
    uploaded=1,
) -> Document:
    if doc_type == DocumentType.AVIS_IMPOSITION and income_year is None:
        income_year = YEAR - 1
    if doc_type in (DocumentType.JUSTIFICATIF_DOMICILE, DocumentType.ATTESTATION_ASSURANCE):
        document_date = document_date or TODAY - timedelta(days=10)
    return Document(
        pk=next(_pk),
        doc_type=doc_type,
        personne=personne,
        status=status,
        label=f"{doc_type} {uploaded}",
        income_year=income_year,
        document_date=document_date,
        valid_until=valid_until(doc_type, document_date=document_date, income_year=income_year),
        uploaded_at=datetime(2026, 9, 1, tzinfo=UTC) + timedelta(hours=uploaded),
    )


def state_of(requirements, members, documents, *, today=TODAY, year=YEAR):
    return dossier_state(
        requirements=requirements,
        members=members,
        documents=documents,
        school_year=year,
        today=today,
    )


# --- Slots ----------------------------------------------------------------------------------------


def test_a_slot_for_the_household_for_each_responsable_and_for_each_child():
    mum, dad = member(name="Françoise"), member(name="Paul")
    lea, tom = child("Léa"), child("Tom")
    avis = requirement(DocumentType.AVIS_IMPOSITION)
    identite = requirement(DocumentType.PIECE_IDENTITE, Provider.RESPONSABLE)
    assurance = requirement(DocumentType.ATTESTATION_ASSURANCE, Provider.ENFANT)

    state = state_of([avis, identite, assurance], [mum, lea, dad, tom], [])

    assert [(s.requirement, s.personne) for s in state.slots] == [
        (avis, None),
        (identite, mum),
        (identite, dad),
        (assurance, lea),
        (assurance, tom),
    ]
    assert [s.label for s in state.slots] == [
        "Avis d'imposition",
        "Pièce d'identité — Françoise DURAND",
        "Pièce d'identité — Paul DURAND",
        "Attestation d'assurance — Léa DURAND",
        "Attestation d'assurance — Tom DURAND",
    ]
    assert len({s.key for s in state.slots}) == 5
    assert all(s.state == SlotState.MANQUANT for s in state.slots)
    assert state.state == FileState.INCOMPLET
    assert state.state_label == "incomplet"


def test_a_family_without_children_has_no_child_slot():
    assurance = requirement(DocumentType.ATTESTATION_ASSURANCE, Provider.ENFANT)
    avis = requirement(DocumentType.AVIS_IMPOSITION)

    state = state_of([avis, assurance], [member()], [document(DocumentType.AVIS_IMPOSITION)])

    assert [s.requirement for s in state.slots] == [avis]
    assert state.is_complete


def test_a_file_without_requirement_has_no_slot():
    assert state_of([], [member(), child()], []).slots == []


# --- What fills a slot ----------------------------------------------------------------------------


def test_validated_deposited_refused_and_expired():
    avis = requirement(DocumentType.AVIS_IMPOSITION)
    cases = {
        DocumentStatus.VALIDE: SlotState.VALIDE,
        DocumentStatus.DEPOSE: SlotState.A_VALIDER,
        DocumentStatus.REFUSE: SlotState.MANQUANT,
    }
    for status, expected in cases.items():
        state = state_of([avis], [], [document(DocumentType.AVIS_IMPOSITION, status=status)])
        assert state.slots[0].state == expected, status
    expired = document(
        DocumentType.JUSTIFICATIF_DOMICILE, document_date=add_months(TODAY, -3) - timedelta(1)
    )
    assert expired.state(TODAY) == DocumentStatus.EXPIRE
    domicile = requirement(DocumentType.JUSTIFICATIF_DOMICILE)
    assert state_of([domicile], [], [expired]).slots[0].state == SlotState.MANQUANT


def test_a_proof_of_address_counts_through_its_last_day_and_not_the_next():
    domicile = requirement(DocumentType.JUSTIFICATIF_DOMICILE)
    dated = document(DocumentType.JUSTIFICATIF_DOMICILE, document_date=date(2026, 7, 15))
    assert dated.valid_until == date(2026, 10, 15)
    on_last_day = state_of([domicile], [], [dated], today=date(2026, 10, 15))
    next_day = state_of([domicile], [], [dated], today=date(2026, 10, 16))
    assert on_last_day.slots[0].state == SlotState.VALIDE
    assert next_day.slots[0].state == SlotState.MANQUANT


def test_the_file_states_complet_a_valider_incomplet():
    avis = requirement(DocumentType.AVIS_IMPOSITION)
    domicile = requirement(DocumentType.JUSTIFICATIF_DOMICILE)
    valid_avis = document(DocumentType.AVIS_IMPOSITION)
    deposited = document(DocumentType.JUSTIFICATIF_DOMICILE, status=DocumentStatus.DEPOSE)
    validated = document(DocumentType.JUSTIFICATIF_DOMICILE)

    incomplete = state_of([avis, domicile], [], [valid_avis])
    waiting = state_of([avis, domicile], [], [valid_avis, deposited])
    complete = state_of([avis, domicile], [], [valid_avis, validated])

    assert (incomplete.state, incomplete.state_label) == (FileState.INCOMPLET, "incomplet")
    assert [s.requirement for s in incomplete.missing] == [domicile]
    assert (waiting.state, waiting.state_label) == (FileState.A_VALIDER, "à valider")
    assert [s.requirement for s in waiting.to_validate] == [domicile]
    assert not waiting.missing
    assert (complete.state, complete.state_label) == (FileState.COMPLET, "complet")
    assert complete.is_complete and not incomplete.is_complete and not waiting.is_complete


def test_a_validated_document_wins_over_a_newer_deposit_and_the_newest_deposit_over_older():
    avis = requirement(DocumentType.AVIS_IMPOSITION)
    validated = document(DocumentType.AVIS_IMPOSITION, uploaded=1)
    newer = document(DocumentType.AVIS_IMPOSITION, status=DocumentStatus.DEPOSE, uploaded=5)
    older = document(DocumentType.AVIS_IMPOSITION, status=DocumentStatus.DEPOSE, uploaded=3)

    with_validated = state_of([avis], [], [newer, validated])
    two_deposits = state_of([avis], [], [older, newer])

    assert with_validated.slots[0].document is validated
    assert with_validated.slots[0].state == SlotState.VALIDE
    assert two_deposits.slots[0].document is newer
    assert two_deposits.slots[0].state == SlotState.A_VALIDER


def test_a_tax_notice_counts_only_for_the_school_year_after_its_income_year():
    avis = requirement(DocumentType.AVIS_IMPOSITION)
    for income_year, expected in (
        (YEAR - 1, SlotState.VALIDE),  # 2025 incomes → 2026-2027
        (YEAR - 2, SlotState.MANQUANT),  # last year's notice (expired besides)
        (YEAR, SlotState.MANQUANT),  # next year's notice
    ):
        notice = document(DocumentType.AVIS_IMPOSITION, income_year=income_year)
        state = state_of([avis], [], [notice], today=date(2027, 6, 1))
        assert state.slots[0].state == expected, income_year
    # The notice on 2025 incomes counts until 31 August 2027, the end of 2026-2027.
    notice = document(DocumentType.AVIS_IMPOSITION, income_year=YEAR - 1)
    assert notice.valid_until == date(2027, 8, 31)
    assert state_of([avis], [], [notice], today=date(2027, 8, 31)).is_complete
    assert not state_of([avis], [], [notice], today=date(2027, 9, 1)).is_complete


def test_a_persons_document_fills_only_that_persons_slot():
    lea, tom = child("Léa"), child("Tom")
    assurance = requirement(DocumentType.ATTESTATION_ASSURANCE, Provider.ENFANT)
    for_lea = document(DocumentType.ATTESTATION_ASSURANCE, personne=lea)
    for_household = document(DocumentType.ATTESTATION_ASSURANCE)

    state = state_of([assurance], [lea, tom], [for_lea, for_household])

    assert [(s.personne, s.state) for s in state.slots] == [
        (lea, SlotState.VALIDE),
        (tom, SlotState.MANQUANT),
    ]
    # A household's requirement takes a document of that type whoever it names.
    domicile = requirement(DocumentType.JUSTIFICATIF_DOMICILE)
    named = document(DocumentType.JUSTIFICATIF_DOMICILE, personne=lea)
    assert state_of([domicile], [lea], [named]).is_complete


def test_a_document_of_another_type_fills_nothing():
    domicile = requirement(DocumentType.JUSTIFICATIF_DOMICILE)
    state = state_of([domicile], [], [document(DocumentType.ATTESTATION_CAF)])
    assert state.state == FileState.INCOMPLET


# --- Hypothesis: the state against the rules stated independently ---------------------------------


MEMBERS = [member(name="Françoise"), member(name="Paul"), child("Léa"), child("Tom")]
REQUIREMENTS = [
    requirement(DocumentType.AVIS_IMPOSITION),
    requirement(DocumentType.JUSTIFICATIF_DOMICILE),
    requirement(DocumentType.PIECE_IDENTITE, Provider.RESPONSABLE),
    requirement(DocumentType.ATTESTATION_ASSURANCE, Provider.ENFANT),
]
TYPES = [r.doc_type for r in REQUIREMENTS] + [DocumentType.ATTESTATION_CAF]


@st.composite
def documents(draw):
    doc_type = draw(st.sampled_from(TYPES))
    return document(
        doc_type,
        personne=draw(st.sampled_from([None, *MEMBERS])),
        status=draw(
            st.sampled_from([DocumentStatus.DEPOSE, DocumentStatus.VALIDE, DocumentStatus.REFUSE])
        ),
        income_year=draw(st.sampled_from([YEAR - 2, YEAR - 1, YEAR])),
        document_date=TODAY - timedelta(days=draw(st.integers(0, 500))),
        uploaded=draw(st.integers(1, 1000)),
    )


def people_of(req, members):
    if req.provider == Provider.FOYER:
        return [None]
    if req.provider == Provider.ENFANT:
        return [m for m in members if m.kind == MemberKind.ENFANT]
    return [m for m in members if m.kind == MemberKind.RESPONSABLE]


def counts(doc, req, person) -> bool:
    """The rules in words: same type; the slot's person (any for the household); not refused;
    not past its last valid day; a tax notice on the incomes of the year before."""
    return (
        doc.doc_type == req.doc_type
        and (person is None or doc.personne is person)
        and doc.status != DocumentStatus.REFUSE
        and (doc.valid_until is None or doc.valid_until >= TODAY)
        and (doc.doc_type != DocumentType.AVIS_IMPOSITION or doc.income_year == YEAR - 1)
    )


@settings(max_examples=300, deadline=None)
@given(
    docs=st.lists(documents(), max_size=12),
    members=st.lists(st.sampled_from(MEMBERS), unique=True),
    chosen=st.lists(st.sampled_from(REQUIREMENTS), unique=True, min_size=1),
)
def test_the_file_is_complete_iff_every_slot_has_a_validated_document_that_counts(
    docs, members, chosen
):
    state = state_of(chosen, members, docs)

    slots = [(req, person) for req in chosen for person in people_of(req, members)]
    assert len(state.slots) == len(slots)
    every_validated = all(
        any(counts(d, r, p) and d.status == DocumentStatus.VALIDE for d in docs) for r, p in slots
    )
    some_empty = any(not any(counts(d, r, p) for d in docs) for r, p in slots)

    assert (state.state == FileState.COMPLET) == every_validated
    assert (state.state == FileState.INCOMPLET) == some_empty
    assert (state.state == FileState.A_VALIDER) == (not every_validated and not some_empty)
    for slot in state.slots:
        assert all(counts(d, slot.requirement, slot.personne) for d in slot.documents)
