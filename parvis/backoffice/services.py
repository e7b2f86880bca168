"""Writes of the guichet itself: the agents' login, throttled like the citizens' (the families'
writes are in parvis.families.services), and the decisions on documents, which settle the
family's administrative-file requests in the same transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.contrib import auth
from django.db import transaction
from django.utils import timezone

from parvis.accounts.models import Attempt, User
from parvis.accounts.services import (
    ACCOUNT_MAX_FAILURES,
    _record_attempt,
    client_ip,
    locked_until,
    normalise_identifier,
)
from parvis.backoffice.permissions import agent_of
from parvis.communes.models import Commune
from parvis.demarches.models import Demande
from parvis.demarches.services_dossier import settle_dossiers
from parvis.families.models import Document, DocumentStatus
from parvis.families.services_documents import NotAllowed, review_document

security_log = logging.getLogger("parvis.security")


@dataclass(frozen=True)
class AgentLoginResult:
    user: User | None = None
    locked_until: datetime | None = None


def agent_login_identifier(username: str) -> str:
    return f"agent:{normalise_identifier(username)}"


def attempt_agent_login(
    *, request, commune: Commune, username: str, password: str
) -> AgentLoginResult:
    """Check an agent's credentials under the lockout rules of the citizens' login (5 failures
    within 15 minutes lock the username for 15 minutes; 30 per address). A right password of an
    account that is not an agent of `commune` is a failure like any other. Every attempt is
    recorded; nobody is logged in here."""
    now = timezone.now()
    ip = client_ip(request)
    identifier = agent_login_identifier(username)

    def lock():
        return locked_until(
            commune=commune,
            kind=Attempt.Kind.LOGIN,
            identifier=identifier,
            ip=ip,
            now=now,
            max_failures=ACCOUNT_MAX_FAILURES,
        )

    until = lock()
    if until is not None:
        _record_attempt(
            commune=commune, kind=Attempt.Kind.LOGIN, identifier=identifier, ip=ip, blocked=True
        )
        security_log.warning(
            "agent login blocked commune=%s identifier=%s ip=%s", commune.slug, identifier, ip
        )
        return AgentLoginResult(locked_until=until)
    user = auth.authenticate(request, username=(username or "").strip(), password=password)
    if user is not None and agent_of(user, commune) is None:
        user = None
    _record_attempt(
        commune=commune,
        kind=Attempt.Kind.LOGIN,
        identifier=identifier,
        ip=ip,
        succeeded=user is not None,
        now=now,
    )
    if user is None:
        security_log.info(
            "agent login failed commune=%s identifier=%s ip=%s", commune.slug, identifier, ip
        )
        return AgentLoginResult(locked_until=lock())
    return AgentLoginResult(user=user)


def log_in_agent(request, user: User) -> None:
    """Open the agent's session: a new session key (no fixation), the backend that checked it."""
    auth.login(request, user)


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
