"""The retention rules: for each kind of data, its default duration (a commune sets its own,
RetentionRule), what goes once it has passed, and why that duration.

Each kind says which rows are past their time (`due`, a queryset) and removes them (`remove`) in
a bounded number of statements per batch of BATCH rows. Invoices, payments, online payments and
their journal entries are never removed here: accounting law keeps them ten years (see
ACCOUNTING_YEARS), and removing an account, a document or a request never touches them (the
household's file stays with the services).

The boundary: a row goes when its date is strictly older than « now − duration » (a document
valid until D goes on D + duration + 1 days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from parvis.accounts.models import Attempt, AuditEntry, User
from parvis.communes.models import Commune
from parvis.demarches.models import Demande, DemandeAttachment
from parvis.demarches.models import Status as DemandeStatus
from parvis.families.models import Document
from parvis.rgpd.models import InactivityWarning, RetentionKind, RetentionRule

BATCH = 500
# Accounting documents (invoices, payments, their journal): Code de commerce art. L123-22 and
# the public accounting rules for the régies' supporting documents.
ACCOUNTING_YEARS = 10
# The journal entries of money (invoices, payments, refunds, direct debits): kept with them.
ACCOUNTING_ACTIONS = (
    "echeance",
    "echeancier",
    "facture",
    "factures",
    "facturation",
    "paiement",
    "paiement_en_ligne",
    "trop_percu",
    "prelevement",
    "mandat",
    "sepa",
    "rgpd",
)
# Between the e-mail warning an inactive account and its deletion.
NOTICE_DAYS = 30
CLOSED_STATUSES = (DemandeStatus.ACCEPTEE, DemandeStatus.REFUSEE, DemandeStatus.SANS_SUITE)


def _formatted(message: str, **values) -> str:
    return gettext(message) % values


formatted = lazy(_formatted, str)


@dataclass(frozen=True)
class Kind:
    key: str
    default_days: int
    what: str  # what goes, for the report and the registre
    why: str  # the reference of the default


KINDS = {
    RetentionKind.COMPTES_INACTIFS: Kind(
        RetentionKind.COMPTES_INACTIFS,
        730,
        formatted(
            gettext_noop(
                "Le compte citoyen sans connexion pendant cette durée est averti par courriel, "
                "puis supprimé %(notice)s jours plus tard sans nouvelle connexion (le dossier de "
                "la famille reste tenu par les services)."
            ),
            notice=NOTICE_DAYS,
        ),
        _(
            "CNIL : un compte inactif est supprimé après une durée définie, en pratique deux "
            "ans, après en avoir averti la personne."
        ),
    ),
    RetentionKind.DOCUMENTS_EXPIRES: Kind(
        RetentionKind.DOCUMENTS_EXPIRES,
        365,
        _(
            "Le justificatif (et son fichier) dont la date de validité est passée depuis "
            "cette durée."
        ),
        _(
            "CNIL, guide des collectivités territoriales : une pièce n'est gardée que le temps "
            "de la démarche qui la demande ; un an laisse contrôler la facturation de l'année."
        ),
    ),
    RetentionKind.PIECES_DEMANDES: Kind(
        RetentionKind.PIECES_DEMANDES,
        730,
        _(
            "Les fichiers joints à une demande close (acceptée, refusée, sans suite) depuis "
            "cette durée."
        ),
        _(
            "Délai de recours contentieux contre la décision (deux mois) largement couvert ; "
            "la demande et son historique restent."
        ),
    ),
    RetentionKind.BROUILLONS: Kind(
        RetentionKind.BROUILLONS,
        180,
        _(
            "Le brouillon de démarche d'un compte non modifié depuis cette durée, avec ses "
            "fichiers."
        ),
        _("Données jamais transmises à la commune : gardées le temps de finir la démarche."),
    ),
    RetentionKind.TENTATIVES: Kind(
        RetentionKind.TENTATIVES,
        30,
        _("Les tentatives de connexion (identifiant, adresse IP, résultat) plus anciennes."),
        _(
            "Servent à limiter les essais de mots de passe ; la tâche purge_attempts les "
            "supprime aussi après 30 jours pour toutes les communes."
        ),
    ),
    RetentionKind.JOURNAL: Kind(
        RetentionKind.JOURNAL,
        365,
        formatted(
            gettext_noop(
                "Les entrées du journal des modifications plus anciennes, hors factures, paiements "
                "et remboursements (gardés %(years)s ans)."
            ),
            years=ACCOUNTING_YEARS,
        ),
        _(
            "CNIL, recommandation sur la journalisation (délibération n° 2021-122) : de six "
            "mois à un an."
        ),
    ),
}


def durations(commune: Commune) -> dict[str, int]:
    """The commune's duration of each kind, in days (one query)."""
    own = dict(RetentionRule.objects.filter(commune=commune).values_list("kind", "days"))
    return {key: own.get(key, kind.default_days) for key, kind in KINDS.items()}


# --- Which rows are due ---------------------------------------------------------------------------


def _last_activity():
    return Coalesce("last_login", "date_joined")


def citizens(commune: Commune):
    return User.objects.filter(commune=commune, is_staff=False, is_superuser=False)


def accounts_to_warn(commune: Commune, now: datetime, days: int):
    """Citizens without a login for `days`, not warned since their last login."""
    return (
        citizens(commune)
        .alias(last_activity=_last_activity())
        .filter(last_activity__lt=now - timedelta(days=days))
        .exclude(pk__in=InactivityWarning.objects.filter(commune=commune).values("user_id"))
    )


def accounts_to_delete(commune: Commune, now: datetime, days: int):
    """Citizens warned more than NOTICE_DAYS ago who have not logged in since."""
    warned = InactivityWarning.objects.filter(
        commune=commune, sent_at__lt=now - timedelta(days=NOTICE_DAYS)
    )
    return (
        citizens(commune)
        .alias(last_activity=_last_activity())
        .filter(last_activity__lt=now - timedelta(days=days), pk__in=warned.values("user_id"))
    )


def stale_warnings(commune: Commune):
    """Warnings of accounts that have logged in since: forgotten (a new inactive period
    starts)."""
    return InactivityWarning.objects.filter(commune=commune).filter(
        user__last_login__gt=F("sent_at")
    )


def due(kind: str, commune: Commune, now: datetime, days: int):
    """The rows of `kind` past their time in `commune` (accounts: those to delete now)."""
    cutoff = now - timedelta(days=days)
    if kind == RetentionKind.COMPTES_INACTIFS:
        return accounts_to_delete(commune, now, days)
    if kind == RetentionKind.DOCUMENTS_EXPIRES:
        today = timezone.localdate(now)
        return Document.objects.filter(
            commune=commune, valid_until__lt=today - timedelta(days=days)
        )
    if kind == RetentionKind.PIECES_DEMANDES:
        return DemandeAttachment.objects.filter(
            demande__commune=commune,
            demande__status__in=CLOSED_STATUSES,
            demande__closed_at__lt=cutoff,
        )
    if kind == RetentionKind.BROUILLONS:
        return Demande.objects.filter(
            commune=commune,
            status=DemandeStatus.BROUILLON,
            requester__isnull=False,
            updated_at__lt=cutoff,
        )
    if kind == RetentionKind.TENTATIVES:
        return Attempt.objects.filter(commune=commune, at__lt=cutoff)
    if kind == RetentionKind.JOURNAL:
        accounting = reduce(
            or_,
            (Q(action__startswith=f"{prefix}.") for prefix in ACCOUNTING_ACTIONS),
        )
        return AuditEntry.objects.filter(commune=commune, at__lt=cutoff).exclude(accounting)
    raise ValueError(kind)


# --- Removing them --------------------------------------------------------------------------------


def _delete_files(field, names: list[str]) -> None:
    storage = field.storage
    names = [name for name in names if name]

    def delete():
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete)


def remove(kind: str, queryset) -> int:
    """Deletes the rows of `queryset` (`due`'s), batch by batch; the files once committed.
    Returns how many rows of `kind` went."""
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return total
        model = queryset.model
        batch = model.objects.filter(pk__in=ids)
        if kind == RetentionKind.DOCUMENTS_EXPIRES:
            _delete_files(
                Document._meta.get_field("file"), list(batch.values_list("file", flat=True))
            )
        elif kind == RetentionKind.PIECES_DEMANDES:
            _delete_files(
                DemandeAttachment._meta.get_field("file"),
                list(batch.values_list("file", flat=True)),
            )
        elif kind == RetentionKind.BROUILLONS:
            attachments = DemandeAttachment.objects.filter(demande_id__in=ids)
            _delete_files(
                DemandeAttachment._meta.get_field("file"),
                list(attachments.values_list("file", flat=True)),
            )
        batch.delete()
        total += len(ids)
