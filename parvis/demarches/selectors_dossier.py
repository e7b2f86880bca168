"""Reads of « Créer une inscription » and the administrative file (views_dossier), scoped to the
commune of the URL and to the families the account is linked to (the views pass only those)."""

from __future__ import annotations

from parvis.demarches.models import Demande, Procedure, Status
from parvis.demarches.services_dossier import DOSSIER_SLUG
from parvis.families.models import Document, QuotientFamilial, RequiredDocument


def requirements(*, commune, years) -> list[RequiredDocument]:
    """The documents the commune asks for the school years `years`, with their service."""
    return list(
        RequiredDocument.objects.filter(commune=commune, school_year__in=years)
        .select_related("service")
        .order_by("position", "pk")
    )


def documents_of_families(*, commune, famille_ids) -> list[Document]:
    """The stored documents of the families `famille_ids` of `commune`, with whom they concern."""
    return list(
        Document.objects.filter(commune=commune, famille_id__in=famille_ids).select_related(
            "personne"
        )
    )


def current_quotients_of_families(*, commune, famille_ids, today) -> list[QuotientFamilial]:
    """The QFs of the families `famille_ids` of `commune` valid on `today` (a current one fetched
    from API Particulier stands for the tax notice of the file, issue 20 §2)."""
    return list(
        QuotientFamilial.objects.filter(
            commune=commune,
            famille_id__in=famille_ids,
            valid_from__lte=today,
            valid_until__gte=today,
        )
    )


def latest_documents(*, famille, doc_types) -> list[Document]:
    """The family's documents of `doc_types`, newest first."""
    return list(
        Document.objects.filter(
            commune_id=famille.commune_id, famille=famille, doc_type__in=doc_types
        ).order_by("-uploaded_at", "-pk")
    )


def latest_request(*, famille, school_year: int) -> Demande | None:
    """The family's latest filed request for this year's file (open or closed)."""
    return (
        Demande.objects.filter(
            commune_id=famille.commune_id,
            famille=famille,
            procedure__slug=DOSSIER_SLUG,
            answers__school_year=school_year,
        )
        .exclude(status=Status.BROUILLON)
        .order_by("-submitted_at", "-pk")
        .first()
    )


def receives_files(*, commune) -> bool:
    """The commune's « Dossier administratif » procedure is switched on."""
    return Procedure.objects.filter(commune=commune, slug=DOSSIER_SLUG, is_enabled=True).exists()
