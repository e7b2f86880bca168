"""The administrative file (« Dossier administratif ») as a request: « Valider » files a Demande
of the procedure `dossier-administratif` listing the documents given; once an agent has validated
every document the file needs, that request is accepted (« Dossier complet »)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.demarches import services
from parvis.demarches.models import CLOSED, Demande, Procedure, Status
from parvis.families.documents import SlotState, school_year_label
from parvis.families.models import Document, DocumentStatus, Famille
from parvis.families.selectors_documents import dossier
from parvis.families.services_documents import NotAllowed, review_document

DOSSIER_SLUG = "dossier-administratif"


class DossierNotReady(Exception):
    """« Valider » cannot file the request; the message says why, in French."""


def open_dossier_demandes(*, famille: Famille, school_year: int | None = None):
    demandes = Demande.objects.filter(
        commune_id=famille.commune_id, famille=famille, procedure__slug=DOSSIER_SLUG
    ).exclude(status__in=[*CLOSED, Status.BROUILLON])
    if school_year is not None:
        demandes = demandes.filter(answers__school_year=school_year)
    return demandes


def _slot_line(slot) -> str:
    if slot.document is None and slot.quotient is not None:
        return _("%(slot)s : quotient familial CAF ou MSA (API Particulier), %(value)s €") % {
            "slot": slot.label,
            "value": slot.quotient.value,
        }
    document = slot.document
    state = _("validé") if slot.state == SlotState.VALIDE else _("à valider")
    return f"{slot.label} : {document.label} ({state})"


@transaction.atomic
def file_dossier(*, famille: Famille, user: User, school_year: int, today=None) -> Demande:
    """« Valider »: every document of the file is given (validated or waiting), so the file goes
    to the service as a numbered request."""
    today = today or timezone.localdate()
    # The family row lock: two clicks (or two parents) file one request, not two.
    Famille.objects.select_for_update().filter(pk=famille.pk).first()
    state = dossier(famille=famille, school_year=school_year, today=today)
    if not state.slots:
        raise DossierNotReady(
            _("La commune ne demande aucun document pour l'année scolaire %(year)s.")
            % {"year": state.year_label}
        )
    if state.missing:
        raise DossierNotReady(
            _("Il manque encore : %(missing)s.")
            % {"missing": ", ".join(slot.label for slot in state.missing)}
        )
    existing = open_dossier_demandes(famille=famille, school_year=school_year).first()
    if existing is not None:
        raise DossierNotReady(
            _(
                "Votre dossier %(year)s est déjà transmis (demande %(number)s) : le service "
                "vérifie vos documents."
            )
            % {"year": state.year_label, "number": existing.number}
        )
    procedure = Procedure.objects.filter(
        commune_id=famille.commune_id, slug=DOSSIER_SLUG, is_enabled=True
    ).first()
    if procedure is None:
        raise DossierNotReady(_("La commune ne reçoit pas de dossier administratif en ligne."))
    demande = services.start_draft(procedure=procedure, user=user)
    demande.famille = famille
    demande.answers = {
        "annee_scolaire": school_year_label(school_year),
        "documents": "\n".join(_slot_line(slot) for slot in state.slots),
        "school_year": school_year,
        "document_ids": sorted({slot.document.pk for slot in state.slots if slot.document}),
    }
    demande.save(update_fields=["famille", "answers", "updated_at"])
    services.submit(demande=demande)
    demande.refresh_from_db()  # submit() numbered a fresh copy of the row
    return demande


@transaction.atomic
def settle_dossiers(*, famille: Famille, actor: User, today=None) -> list[Demande]:
    """Accept the family's open file requests whose file is now complete (called after an agent
    validated documents)."""
    today = today or timezone.localdate()
    accepted = []
    for demande in open_dossier_demandes(famille=famille).select_for_update():
        school_year = demande.answers.get("school_year")
        if not isinstance(school_year, int):
            continue
        if not dossier(famille=famille, school_year=school_year, today=today).is_complete:
            continue
        if demande.status == Status.COMPLEMENT:
            demande = services.transition(demande=demande, to=Status.EN_COURS, actor=actor)
        accepted.append(
            services.transition(
                demande=demande,
                to=Status.ACCEPTEE,
                actor=actor,
                comment=_("Dossier complet : tous les documents sont validés."),
            )
        )
    return accepted


# --- An agent's decision on documents, which settles the family's file requests ------------


@dataclass(frozen=True)
class Reviewed:
    documents: list[Document]
    accepted: list[Demande]  # the file requests this made complete, hence accepted


@transaction.atomic
def review(*, document: Document, actor: User, to: str, reason: str = "") -> Reviewed:
    """An agent's « Valider » or « Refuser » (reason required) on one document, then the
    family's open file requests that became complete are accepted: one transaction, so the
    decision and its consequence stand or fall together. Raises
    parvis.families.services_documents.NotAllowed (already decided) or ValidationError (no
    reason)."""
    document = review_document(document=document, actor=actor, to=to, reason=reason)
    accepted = settle_dossiers(famille=document.famille, actor=actor)
    return Reviewed(documents=[document], accepted=accepted)


@transaction.atomic
def validate_selection(*, documents: list[Document], actor: User) -> Reviewed:
    """« Valider la sélection »: each document still « déposé » is validated (an audit row and an
    event each, as one by one); the others are left as they are. Then each family concerned has
    its complete file requests accepted."""
    done = []
    for document in documents:
        if document.status != DocumentStatus.DEPOSE:
            continue
        try:
            done.append(review_document(document=document, actor=actor, to=DocumentStatus.VALIDE))
        except NotAllowed:  # decided by someone else meanwhile (the row is re-read locked)
            continue
    accepted = []
    families = {document.famille_id: document.famille for document in done}
    for famille in families.values():
        accepted.extend(settle_dossiers(famille=famille, actor=actor))
    return Reviewed(documents=done, accepted=accepted)
