"""Reads on requests for the people who filed them: always scoped to the commune of the URL and
to who asks (the account, or the session that proved a tracking code). Anything else is None,
so the views answer 404 whether the request is someone else's or does not exist."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import F, Prefetch, Q, QuerySet
from django.urls import NoReverseMatch, reverse

from parvis.demarches.models import (
    CLOSED,
    Demande,
    DemandeAttachment,
    DemandeMessage,
    Effect,
    Procedure,
    Status,
)
from parvis.text import fold


def offered_procedures(commune) -> QuerySet:
    """The procedures the commune offers: those switched on, less the change of coordinates
    where the commune turned it off (Commune.changement_adresse_en_ligne)."""
    procedures = Procedure.objects.filter(commune=commune, is_enabled=True)
    if not commune.changement_adresse_en_ligne:
        procedures = procedures.exclude(effect=Effect.COORDINATES)
    return procedures


def coordinates_request_url(*, commune) -> str | None:
    """The page of the commune's « Signalement d'un changement de coordonnées » (registered
    with families.selectors_citizen), or None when it offers none."""
    procedure = (
        offered_procedures(commune)
        .filter(effect=Effect.COORDINATES)
        .order_by("position", "pk")
        .only("slug")
        .first()
    )
    if procedure is None:
        return None
    return reverse("demarches:demarche", kwargs={"commune": commune.slug, "slug": procedure.slug})


# --- The citizen's catalogue and wizard ---------------------------------------------------------


def _search_terms(query: str) -> list[str]:
    # A final « s » is dropped so that « actes » finds « acte » (each term is a substring).
    return [
        word[:-1] if len(word) > 3 and word.endswith("s") else word
        for word in re.findall(r"\w+", fold(query))
    ]


def matches(procedure: Procedure, terms: list[str]) -> bool:
    """Every term of the search appears in the procedure's title or keywords."""
    haystack = fold(f"{procedure.title} {procedure.keywords}")
    return all(term in haystack for term in terms)


def searched_procedures(*, commune, query: str = "") -> list[Procedure]:
    """The procedures the commune offers whose title or keywords hold every word of `query`,
    without regard to accents or case (all of them for an empty query): one query, whatever
    their number."""
    terms = _search_terms(query)
    procedures = offered_procedures(commune).only(
        "slug",
        "title",
        "category",
        "keywords",
        "description",
        "duration_minutes",
        "audience",
        "position",
        "commune",
    )
    found = []
    for procedure in procedures:
        if terms and not matches(procedure, terms):
            continue
        procedure.commune = commune
        found.append(procedure)
    return found


def offered_procedure(*, commune, slug: str) -> Procedure | None:
    """A procedure the commune offers, with its service, or None."""
    return (
        offered_procedures(commune).select_related("commune", "service").filter(slug=slug).first()
    )


def _owned(*, user, draft_key: str) -> Q:
    """The requests of whoever asks: the account's own, and the anonymous drafts of the
    session's key."""
    owner = Q(requester=user) if user is not None else Q(pk__in=[])
    if draft_key:
        owner |= Q(requester=None, draft_key=draft_key)
    return owner


def draft_of(*, commune, procedure: Procedure, pk, user, draft_key: str) -> Demande | None:
    """The visitor's own draft of `procedure` (`user`: the citizen, or None; `draft_key`: the
    session's key of anonymous drafts); None for anyone else's, a submitted request or another
    commune's."""
    return (
        Demande.objects.filter(_owned(user=user, draft_key=draft_key))
        .filter(pk=pk, commune=commune, procedure=procedure, status=Status.BROUILLON)
        .select_related("version")
        .first()
    )


def drafts_in_progress(
    *, commune, procedure: Procedure, user, draft_key: str, limit: int = 3
) -> list[Demande]:
    """The visitor's latest drafts of `procedure`, newest first."""
    if user is None and not draft_key:
        return []
    return list(
        Demande.objects.filter(_owned(user=user, draft_key=draft_key))
        .filter(commune=commune, procedure=procedure, status=Status.BROUILLON)
        .select_related("version")
        .order_by("-updated_at")[:limit]
    )


def is_draft(*, commune, pk) -> bool:
    """The request `pk` of this commune is still a draft."""
    return Demande.objects.filter(pk=pk, commune=commune, status=Status.BROUILLON).exists()


def answer_files(demande: Demande) -> list[DemandeAttachment]:
    """The files joined to the answers of `demande` (not to a message)."""
    return list(demande.attachments.filter(message=None))


def answer_file_names(demande: Demande) -> dict[str, list[str]]:
    """{file field: names of the files joined to it}."""
    attached: dict[str, list[str]] = {}
    for field_name, name in (
        demande.attachments.filter(message=None)
        .exclude(field_name="")
        .values_list("field_name", "original_name")
    ):
        attached.setdefault(field_name, []).append(name)
    return attached


def filed_request(*, commune, slug: str, pk, user, filed_in_session: bool) -> Demande | None:
    """A filed request to confirm: the account's own, or an anonymous one this session filed
    (`filed_in_session`); None otherwise."""
    owner = Q(requester=user) if user is not None else Q(pk__in=[])
    if filed_in_session:
        owner |= Q(requester=None)
    return (
        Demande.objects.select_related("procedure", "version")
        .filter(owner)
        .exclude(number="")
        .filter(pk=pk, commune=commune, procedure__slug=slug)
        .first()
    )


# --- The account's requests ----------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardRow:
    """One line of « Tableau de bord de mes demandes »."""

    demande: Demande
    url: str | None  # the request's page; for a draft, the wizard's step to finish it

    @property
    def is_draft(self) -> bool:
        return self.demande.status == Status.BROUILLON


def _continue_url(demande: Demande, commune_slug: str) -> str | None:
    """Where a draft is finished: the wizard's current step, if the wizard exists."""
    try:
        return reverse(
            "demarches:etape",
            kwargs={
                "commune": commune_slug,
                "slug": demande.procedure.slug,
                "pk": demande.pk,
                "step": demande.current_step,
            },
        )
    except NoReverseMatch:
        return None


def dashboard(*, user, commune, status: str = "") -> list[DashboardRow]:
    """The account's requests in this commune, drafts first (they wait for the citizen), then
    the newest filed; one query whatever their number."""
    demandes = (
        Demande.objects.filter(commune=commune, requester=user)
        .select_related("procedure", "version")
        .order_by(F("submitted_at").desc(nulls_first=True), "-created_at", "-pk")
    )
    if status:
        demandes = demandes.filter(status=status)
    rows = []
    for demande in demandes:
        if demande.status == Status.BROUILLON:
            url = _continue_url(demande, commune.slug)
        else:
            url = reverse(
                "demarches:ma_demande", kwargs={"commune": commune.slug, "number": demande.number}
            )
        rows.append(DashboardRow(demande=demande, url=url))
    return rows


def _with_details(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("procedure", "procedure__service", "version").prefetch_related(
        "events",
        Prefetch(
            "messages",
            queryset=DemandeMessage.objects.prefetch_related("attachments"),
        ),
        Prefetch(
            "attachments",
            queryset=DemandeAttachment.objects.filter(message=None),
            to_attr="answer_attachments",
        ),
    )


def request_of_account(*, user, commune, number: str) -> Demande | None:
    """A filed request of this account in this commune, with its history, messages and files."""
    return (
        _with_details(Demande.objects.filter(commune=commune, requester=user, number=number))
        .exclude(status=Status.BROUILLON)
        .first()
    )


def attachment_of_account(*, user, commune, number: str, pk: int) -> DemandeAttachment | None:
    """A file of a request of this account (an answer or joined to a message)."""
    return (
        DemandeAttachment.objects.filter(
            pk=pk,
            demande__commune=commune,
            demande__requester=user,
            demande__number=number,
        )
        .exclude(demande__status=Status.BROUILLON)
        .first()
    )


def tracked_request(*, commune, number: str, proven_ids) -> Demande | None:
    """An anonymous request whose tracking code this session proved."""
    if not proven_ids:
        return None
    return (
        _with_details(
            Demande.objects.filter(
                commune=commune, number=number, requester=None, pk__in=list(proven_ids)
            )
        )
        .exclude(status=Status.BROUILLON)
        .first()
    )


def is_open(demande: Demande) -> bool:
    """Messages can still be exchanged on it."""
    return demande.status not in CLOSED and demande.status != Status.BROUILLON
