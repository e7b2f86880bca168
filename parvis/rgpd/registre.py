"""The record of processing activities (« registre des traitements », RGPD art. 30) of a commune,
generated from what Parvis stores: each treatment names its purpose, legal basis, people,
recipients and retention as data here, and its data categories are read from the models
themselves (their fields and verbose names), so a field added to a model appears at once.

A test checks that every model holding personal data (a link to an account, a household or a
person) belongs to a treatment here."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from parvis.rgpd.models import RetentionKind
from parvis.rgpd.retention import ACCOUNTING_YEARS, formatted

MISSION = _(
    "Mission d'intérêt public (RGPD art. 6-1-e) : services publics de la commune "
    "(restauration scolaire, accueils périscolaires et de loisirs, démarches administratives)."
)
OBLIGATION = _("Obligation légale (RGPD art. 6-1-c)")
# Fields that are mechanics, never shown as a category of data.
TECHNICAL_FIELDS = {"id", "commune"}


@dataclass(frozen=True)
class Treatment:
    slug: str
    name: str
    purpose: str
    legal_basis: str
    people: str
    recipients: str
    models: tuple[str, ...]  # "app_label.Model"
    retention: str
    retention_kinds: tuple[str, ...] = ()
    sensitive: str = ""


TREATMENTS = (
    Treatment(
        "comptes",
        _("Comptes citoyens et connexion"),
        _("Permettre aux habitants d'accéder à leur espace et sécuriser les connexions."),
        MISSION,
        _("Les habitants ayant créé un espace."),
        _("Agents habilités de la commune ; hébergeur (sous-traitant)."),
        (
            "accounts.User",
            "accounts.Attempt",
            "accounts.FranceConnectIdentity",
            "rgpd.InactivityWarning",
            "rgpd.DataExport",
            "rgpd.ExportStatusChange",
            "activities.BookingPreferences",
            "activities.ReminderSent",
        ),
        _(
            "Jusqu'à la suppression de l'espace par l'habitant, ou après la durée d'inactivité "
            "ci-dessous ; les archives « Télécharger mes données » sept jours."
        ),
        (RetentionKind.COMPTES_INACTIFS, RetentionKind.TENTATIVES),
    ),
    Treatment(
        "familles",
        _("Dossier des familles"),
        _(
            "Tenir le dossier des foyers qui utilisent les services enfance et scolaires : "
            "membres, responsables, personnes autorisées, quotient familial."
        ),
        MISSION,
        _("Les responsables, les enfants et les personnes autorisées à les récupérer."),
        _("Agents des services enfance, scolaire et de la régie ; CAF/MSA (API Particulier)."),
        (
            "families.Famille",
            "families.Personne",
            "families.AuthorisedPerson",
            "families.FamilyAccess",
            "families.ServiceKey",
            "families.QuotientFamilial",
            "families.SharedCustody",
        ),
        _("Tant que le foyer fréquente les services, puis le temps des obligations comptables."),
        (),
        _(
            "Informations de santé d'un enfant (PAI) : intérêt public dans le domaine de la "
            "santé publique et mesures de sécurité renforcées (RGPD art. 9-2-g et 9-2-i)."
        ),
    ),
    Treatment(
        "documents",
        _("Pièces justificatives"),
        _("Vérifier les justificatifs demandés pour l'inscription et le calcul des tarifs."),
        MISSION,
        _("Les membres des foyers."),
        _("Agents des services qui les demandent."),
        ("families.Document", "families.DocumentEvent"),
        _("Jusqu'à la fin de leur validité, plus la durée ci-dessous."),
        (RetentionKind.DOCUMENTS_EXPIRES,),
    ),
    Treatment(
        "demandes",
        _("Démarches en ligne"),
        _("Recevoir et instruire les demandes des habitants, répondre et garder l'historique."),
        MISSION,
        _("Les demandeurs, avec ou sans espace."),
        _("Agents du service instructeur."),
        (
            "demarches.Demande",
            "demarches.DemandeEvent",
            "demarches.DemandeMessage",
            "demarches.DemandeAttachment",
        ),
        _(
            "La demande et son historique : durée de la relation avec le service ; ses pièces "
            "jointes et les brouillons : durées ci-dessous."
        ),
        (RetentionKind.PIECES_DEMANDES, RetentionKind.BROUILLONS),
    ),
    Treatment(
        "activites",
        _("Inscriptions, réservations et présences"),
        _(
            "Inscrire les enfants aux activités, gérer les réservations, les listes d'attente, "
            "les absences et les présences, base de la facturation."
        ),
        MISSION,
        _("Les enfants inscrits et leurs responsables."),
        _("Agents du service enfance, animateurs, régie."),
        (
            "activities.Inscription",
            "activities.Reservation",
            "activities.BookingEvent",
            "activities.Absence",
            "activities.Attendance",
        ),
        _("Dix ans, comme les factures qu'elles justifient."),
    ),
    Treatment(
        "facturation",
        _("Facturation et encaissement"),
        _("Facturer les services, encaisser les paiements (au guichet et en ligne), relancer."),
        OBLIGATION,
        _("Les payeurs des factures."),
        _("Régie de la commune, comptable public (DGFiP), prestataire de paiement."),
        (
            "billing.Invoice",
            "billing.InvoiceLine",
            "billing.InvoiceStatusChange",
            "billing.InvoiceReminder",
            "billing.PenaltyWarning",
            "billing.Payment",
            "billing.PaymentAllocation",
            "payments.Transaction",
            "payments.TransactionInvoice",
            "payments.TropPercu",
            "payments.TropPercuChange",
            "payments.Mandate",
            "payments.MandateChange",
            "billing.PaymentPlan",
            "billing.PlanChange",
        ),
        formatted(
            gettext_noop(
                "%(years)s ans (pièces comptables : Code de commerce art. L123-22 et règles de "
                "la comptabilité publique) ; jamais supprimées par la conservation automatique."
            ),
            years=ACCOUNTING_YEARS,
        ),
    ),
    Treatment(
        "agents",
        _("Comptes des agents"),
        _("Donner aux agents de la commune l'accès au guichet selon leur rôle."),
        MISSION,
        _("Les agents et administrateurs de la commune."),
        _("Administrateurs de la commune ; exploitant de la plateforme."),
        ("accounts.AgentRole",),
        _("Le temps des fonctions de l'agent."),
    ),
    Treatment(
        "journal",
        _("Journal des modifications"),
        _("Tracer qui a modifié quoi dans les dossiers (sécurité, contrôle)."),
        OBLIGATION,
        _("Les agents et les habitants dont le dossier est modifié."),
        _("Administrateurs de la commune."),
        ("accounts.AuditEntry",),
        _("Durée ci-dessous ; les entrées sur les factures et paiements avec celles-ci."),
        (RetentionKind.JOURNAL,),
    ),
    Treatment(
        "courriels",
        _("Courriels envoyés"),
        _("Envoyer les avis, confirmations et rappels par courriel."),
        MISSION,
        _("Les destinataires."),
        _("Relais de messagerie (sous-traitant)."),
        ("background.OutgoingEmail",),
        _("Texte effacé dès l'envoi ; la ligne 30 jours après l'envoi (90 jours si échec)."),
    ),
)


# Models whose only link to a person is the agent who did the work (closed a day, ran the
# invoicing, published a procedure…): the agents' accounts treatment covers them.
AGENT_TRACES = {
    # The platform's journal: the operator's own account and actions, no commune's treatment.
    "accounts.PlatformAuditEntry",
    "activities.ActivityClosure",
    "billing.InvoicingRun",
    "demarches.ProcedureVersion",
    "payments.DebitBatch",
    "payments.BatchChange",
    "rgpd.RetentionPolicy",
}


@dataclass
class Category:
    model: str
    label: str
    fields: list[str] = field(default_factory=list)


def categories(treatment: Treatment) -> list[Category]:
    """The data of a treatment, read from its models: one line per model, its fields by their
    French names (a model not installed is left out)."""
    found = []
    for name in treatment.models:
        try:
            model = apps.get_model(name)
        except LookupError:
            continue
        labels = []
        for model_field in model._meta.concrete_fields:
            if model_field.name in TECHNICAL_FIELDS or model_field.primary_key:
                continue
            if isinstance(model_field, models.ForeignKey):
                continue  # the link, not a datum
            label = str(model_field.verbose_name)
            if label not in labels:
                labels.append(label)
        found.append(Category(name, str(model._meta.verbose_name), labels))
    return found


def personal_models() -> set[str]:
    """Every Parvis model that links to an account, a household or a person: personal data."""
    targets = {
        apps.get_model("accounts.User"),
        apps.get_model("families.Famille"),
        apps.get_model("families.Personne"),
    }
    found = set()
    for model in apps.get_models():
        if not model.__module__.startswith("parvis."):
            continue
        if model in targets:
            found.add(model._meta.label)
            continue
        for model_field in model._meta.concrete_fields:
            if model_field.is_relation and model_field.related_model in targets:
                # The agent who did something (recorded_by, created_by…) is not enough.
                found.add(model._meta.label)
                break
    return found
