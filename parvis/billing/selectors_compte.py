"""Reads behind « Mon compte »'s « Adhésion à la facture en ligne » (seed 000): for each family
of the account, its current choice (paper or online, since when), its « Payeur des factures », a
change still waiting for the service, and the procedure that changes the choice. Scoped like
billing.selectors: the families passed are the account's own (`citizen_families`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Prefetch, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone

from parvis.communes.models import Commune
from parvis.demarches.models import CLOSED, Demande, Effect, Procedure, Status
from parvis.families import selectors as family_selectors
from parvis.families.models import Famille


@dataclass(frozen=True)
class BillingChoice:
    famille: Famille
    paperless: bool
    since: date
    payeur: str  # « Madame Françoise DURAND », or "" for a family without responsable
    pending: Demande | None  # a change of choice waiting for the service


def billing_choices(*, families: list[Famille], commune: Commune) -> list[BillingChoice]:
    """One BillingChoice per family, in the order given; two queries whatever their number."""
    prefetch_related_objects(
        families,
        Prefetch("members", queryset=family_selectors.responsables(), to_attr="responsables"),
    )
    pending: dict[int, Demande] = {}
    for demande in (
        Demande.objects.filter(
            commune=commune,
            famille__in=[famille.pk for famille in families],
            procedure__effect=Effect.PAPERLESS_INVOICE,
        )
        .exclude(status__in=[Status.BROUILLON, *CLOSED])
        .order_by("submitted_at", "pk")
    ):
        pending[demande.famille_id] = demande  # the latest one filed
    choices = []
    for famille in families:
        payeur = family_selectors.payeur(famille, famille.responsables)
        choices.append(
            BillingChoice(
                famille=famille,
                paperless=famille.paperless_invoice,
                # Never changed: the choice dates from the file's creation.
                since=famille.paperless_invoice_since or timezone.localdate(famille.created_at),
                payeur=family_selectors.full_name(payeur) if payeur else "",
                pending=pending.get(famille.pk),
            )
        )
    return choices


def paperless_procedure_url(commune: Commune) -> str | None:
    """The page of the commune's « Adhésion à la facture en ligne » procedure (its « Commencer »
    leads to « souhaitez-vous adhérer à la facture/compte en ligne ? OUI / NON »), or None when
    the commune does not offer one."""
    procedure = (
        Procedure.objects.filter(commune=commune, is_enabled=True, effect=Effect.PAPERLESS_INVOICE)
        .order_by("position", "pk")
        .only("slug")
        .first()
    )
    if procedure is None:
        return None
    return reverse("demarches:demarche", kwargs={"commune": commune.slug, "slug": procedure.slug})
