"""Writes of the guichet itself (the agents' login is accounts.services.attempt_agent_login; the
families' writes are in parvis.families.services): the decisions on documents, which settle the
family's administrative-file requests in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from parvis.accounts.models import User
from parvis.demarches.models import Demande
from parvis.demarches.services_dossier import settle_dossiers
from parvis.families.models import Document, DocumentStatus
from parvis.families.services_documents import NotAllowed, review_document

# --- Documents -----------------------------------------------------------------------------------


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
