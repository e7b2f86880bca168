"""Reads on requests for the people who filed them: always scoped to the commune of the URL and
to who asks (the account, or the session that proved a tracking code). Anything else is None,
so the views answer 404 whether the request is someone else's or does not exist."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, Prefetch, QuerySet
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
        .select_related("procedure")
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
    return queryset.select_related("procedure", "procedure__service").prefetch_related(
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
