"""The rules of the families' documents, as pure functions: how long each type counts, which
school year a tax notice serves, and the state of a household's administrative file
(« Dossier administratif »: complet, à valider or incomplet, with what is missing).

Validity by type (what towns ask):
- justificatif de domicile, attestation CAF: 3 months from the document's date (« de moins de
  3 mois »), the last day included;
- certificat médical, attestation d'assurance: one year from the document's date;
- avis d'imposition: the notice on the incomes of year N serves the school year starting in
  N + 1 (« avis N-1 »), so it counts until 31 August of N + 2;
- the others (identity, vaccinations, custody judgement, other) do not expire by themselves.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parvis.families.models import DocumentStatus, DocumentType, MemberKind, Provider, QfSource

MONTHS_VALID = {
    DocumentType.JUSTIFICATIF_DOMICILE: 3,
    DocumentType.ATTESTATION_CAF: 3,
    DocumentType.CERTIFICAT_MEDICAL: 12,
    DocumentType.ATTESTATION_ASSURANCE: 12,
}
SCHOOL_YEAR_START_MONTH = 9


def needs_document_date(doc_type: str) -> bool:
    return doc_type in MONTHS_VALID


def needs_income_year(doc_type: str) -> bool:
    return doc_type == DocumentType.AVIS_IMPOSITION


def add_months(day: date, months: int) -> date:
    """The same day `months` later, on the month's last day when it has fewer days."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def valid_until(doc_type: str, *, document_date: date | None, income_year: int | None):
    """The last day a document counts (None: it does not expire by itself)."""
    if doc_type in MONTHS_VALID:
        return add_months(document_date, MONTHS_VALID[doc_type]) if document_date else None
    if doc_type == DocumentType.AVIS_IMPOSITION and income_year:
        return date(income_year + 2, SCHOOL_YEAR_START_MONTH - 1, 31)
    return None


def school_year_of(day: date) -> int:
    """The school year a day belongs to, by the year it starts (2026 for 2026-2027)."""
    return day.year if day.month >= SCHOOL_YEAR_START_MONTH else day.year - 1


def school_year_label(year: int) -> str:
    return f"{year}-{year + 1}"


def counts_for_year(document, *, school_year: int, today: date) -> bool:
    """Whether a stored document can answer a requirement of `school_year` today: neither
    refused nor expired, and a tax notice on the incomes of the year before the school year."""
    if document.state(today) in (DocumentStatus.REFUSE, DocumentStatus.EXPIRE):
        return False
    if document.doc_type == DocumentType.AVIS_IMPOSITION:
        return document.income_year == school_year - 1
    return True


class SlotState:
    VALIDE = "valide"
    A_VALIDER = "a_valider"
    MANQUANT = "manquant"


class FileState:
    COMPLET = "complet"
    A_VALIDER = "a_valider"
    INCOMPLET = "incomplet"


FILE_STATE_LABELS = {
    FileState.COMPLET: gettext_lazy("complet"),
    FileState.A_VALIDER: gettext_lazy("à valider"),
    FileState.INCOMPLET: gettext_lazy("incomplet"),
}


@dataclass
class Slot:
    """One document the file needs: a requirement for the household or for one member."""

    requirement: object
    personne: object | None
    documents: list = field(default_factory=list)  # those that count, best first
    state: str = SlotState.MANQUANT
    # The QF fetched from the CAF/MSA (API Particulier) that answers a tax-notice requirement.
    quotient: object | None = None

    @property
    def key(self) -> str:
        return f"{self.requirement.pk}-{self.personne.pk if self.personne else 0}"

    @property
    def label(self) -> str:
        kind = self.requirement.get_doc_type_display()
        if self.personne is None:
            return str(kind)
        return _("%(type)s — %(person)s") % {"type": kind, "person": self.personne}

    @property
    def document(self):
        return self.documents[0] if self.documents else None


@dataclass
class DossierState:
    school_year: int
    slots: list[Slot]

    @property
    def missing(self) -> list[Slot]:
        return [slot for slot in self.slots if slot.state == SlotState.MANQUANT]

    @property
    def to_validate(self) -> list[Slot]:
        return [slot for slot in self.slots if slot.state == SlotState.A_VALIDER]

    @property
    def state(self) -> str:
        if self.missing:
            return FileState.INCOMPLET
        if self.to_validate:
            return FileState.A_VALIDER
        return FileState.COMPLET

    @property
    def state_label(self) -> str:
        return str(FILE_STATE_LABELS[self.state])

    @property
    def is_complete(self) -> bool:
        return self.state == FileState.COMPLET

    @property
    def year_label(self) -> str:
        return school_year_label(self.school_year)


def _rank(document):
    # A validated document first, then the most recent.
    return (document.status != DocumentStatus.VALIDE, -document.uploaded_at.timestamp())


def fetched_quotient_for_year(quotients, *, school_year: int, today: date):
    """The household's current QF (valid today, the latest recorded first, as
    families.services.current_quotient picks it) when it was fetched from the CAF/MSA through API
    Particulier and still counts in `school_year`: it replaces the tax notice (issue 20 §2).
    None otherwise (no QF, another source, or one that ends before the school year starts)."""
    valid = [q for q in quotients if q.valid_from <= today <= q.valid_until]
    if not valid:
        return None
    current = max(valid, key=lambda q: (q.valid_from, q.created_at, q.pk))
    if current.source != QfSource.API_PARTICULIER:
        return None
    if current.valid_until < date(school_year, SCHOOL_YEAR_START_MONTH, 1):
        return None
    return current


def dossier_state(*, requirements, members, documents, school_year: int, today: date, quotients=()):
    """The administrative file of one household for `school_year`: a slot per requirement (per
    responsable or per child when the requirement says so), each filled by the best stored
    document that counts (validated → « valide », only deposited → « à valider »). A tax notice
    is « valide » without any document when the household's current QF was fetched from API
    Particulier and counts in the school year (`quotients`: the household's QFs, any order)."""
    counting = [d for d in documents if counts_for_year(d, school_year=school_year, today=today)]
    fetched = fetched_quotient_for_year(quotients, school_year=school_year, today=today)
    slots = []
    for requirement in requirements:
        if requirement.provider == Provider.FOYER:
            people = [None]
        else:
            kind = MemberKind.ENFANT if requirement.provider == Provider.ENFANT else None
            people = [
                m for m in members if (m.kind == MemberKind.ENFANT) == (kind == MemberKind.ENFANT)
            ]
        for personne in people:
            matching = sorted(
                (
                    d
                    for d in counting
                    if d.doc_type == requirement.doc_type
                    and (personne is None or d.personne_id == personne.pk)
                ),
                key=_rank,
            )
            state = SlotState.MANQUANT
            if matching:
                state = (
                    SlotState.VALIDE
                    if matching[0].status == DocumentStatus.VALIDE
                    else SlotState.A_VALIDER
                )
            quotient = None
            if fetched is not None and requirement.doc_type == DocumentType.AVIS_IMPOSITION:
                state, quotient = SlotState.VALIDE, fetched
            slots.append(
                Slot(
                    requirement=requirement,
                    personne=personne,
                    documents=matching,
                    state=state,
                    quotient=quotient,
                )
            )
    return DossierState(school_year=school_year, slots=slots)
