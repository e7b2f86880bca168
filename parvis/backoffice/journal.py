"""The family file's journal as people read it: « who, when, what, old → new », in French."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import FieldDoesNotExist
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parvis.accounts.models import AuditEntry, User
from parvis.demarches.models import Demande
from parvis.families.models import AuthorisedPerson, Famille, FamilyAccess, Personne, ServiceKey

ACTIONS = {
    "famille.create": gettext_lazy("Création du dossier"),
    "famille.update": gettext_lazy("Modification du dossier"),
    "personne.create": gettext_lazy("Ajout d'un membre du foyer"),
    "personne.update": gettext_lazy("Modification d'un membre du foyer"),
    "personne_autorisee.create": gettext_lazy("Ajout d'une personne autorisée"),
    "personne_autorisee.update": gettext_lazy("Modification d'une personne autorisée"),
    "personne_autorisee.delete": gettext_lazy("Retrait d'une personne autorisée"),
    "service_key.generate": gettext_lazy("Clé de service générée"),
    "service_key.revoke": gettext_lazy("Clé de service révoquée"),
    "service_key.redeem": gettext_lazy("Clé de service utilisée"),
    "family_code.issue": gettext_lazy("Identifiants « code famille » remis"),
    "family_access.remove": gettext_lazy("Accès d'un compte retiré"),
    "demande.transition": gettext_lazy("Décision sur une demande"),
    "account.update_coordinates": gettext_lazy("Coordonnées du compte modifiées"),
    "account.create": gettext_lazy("Compte créé"),
    "account.confirm_email": gettext_lazy("Adresse électronique confirmée"),
    "account.request_email_change": gettext_lazy("Changement d'adresse électronique demandé"),
    "account.set_password": gettext_lazy("Mot de passe changé"),
    "account.first_login": gettext_lazy("Première connexion"),
    "account.delete": gettext_lazy("Compte supprimé"),
    "quotient.record": gettext_lazy("Quotient familial enregistré"),
    "document.create": gettext_lazy("Document déposé"),
    "document.rename": gettext_lazy("Document renommé"),
    "document.review": gettext_lazy("Document vérifié"),
    "document.delete": gettext_lazy("Document supprimé"),
    "agenda.reminders": gettext_lazy("Rappels de réservation modifiés"),
    "agenda.feed_created": gettext_lazy("Agenda en ligne créé"),
    "agenda.feed_revoked": gettext_lazy("Agenda en ligne révoqué"),
    "inscription.request": gettext_lazy("Inscription à une activité demandée"),
    "inscription.accept": gettext_lazy("Inscription à une activité acceptée"),
    "inscription.refuse": gettext_lazy("Inscription à une activité refusée"),
    "reservation.basket": gettext_lazy("Réservations modifiées"),
    "reservation.accept": gettext_lazy("Réservation acceptée"),
    "reservation.refuse": gettext_lazy("Réservation refusée"),
    "reservation.offer_accepted": gettext_lazy("Place proposée acceptée"),
    "reservation.offer_declined": gettext_lazy("Place proposée déclinée"),
    "reservation.offer_expired": gettext_lazy("Place proposée expirée"),
    "activite.fermeture": gettext_lazy("Fermeture d'une activité"),
    "presence.pointage": gettext_lazy("Présences pointées"),
    "presence.sans_reservation": gettext_lazy("Présence sans réservation"),
    "absence.declare": gettext_lazy("Absence déclarée"),
    "absence.certificate": gettext_lazy("Justificatif d'absence déposé"),
    "absence.decision": gettext_lazy("Décision sur une absence"),
    "facture.emise": gettext_lazy("Facture émise"),
    "facture.annulee": gettext_lazy("Facture annulée"),
    "facture.relance": gettext_lazy("Relance d'une facture"),
    "factures.imprimees": gettext_lazy("Factures imprimées"),
    "facturation.lot": gettext_lazy("Factures émises par la facturation mensuelle"),
    "facturation.terminee": gettext_lazy("Facturation mensuelle terminée"),
    "facturation.avertissements": gettext_lazy("Avertissements de pénalités envoyés"),
    "facturation.envoi_demande": gettext_lazy("Envoi des factures en ligne demandé"),
    "facturation.envoyee": gettext_lazy("Factures envoyées par courriel"),
    "paiement.enregistre": gettext_lazy("Paiement enregistré"),
    "paiement.annule": gettext_lazy("Paiement annulé"),
    "paiement_en_ligne.demande": gettext_lazy("Paiement en ligne commencé"),
    "paiement_en_ligne.remplace": gettext_lazy("Paiement en ligne remplacé par un nouveau"),
    "trop_percu.constate": gettext_lazy("Trop-perçu constaté"),
    "trop_percu.rembourse": gettext_lazy("Trop-perçu remboursé"),
}

MODELS = {
    model._meta.model_name: model
    for model in (Famille, Personne, AuthorisedPerson, ServiceKey, FamilyAccess, User, Demande)
}

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class JournalLine:
    at: datetime
    who: str
    what: str
    target: str
    changes: list[Change]


def _who(entry) -> str:
    """Who acted; a family's own change (from its personal space) says so."""
    name = entry.actor_label or _("(inconnu)")
    if entry.actor is not None and not entry.actor.is_staff:
        return _("%(name)s (famille)") % {"name": name}
    return name


def _field(model, name):
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _value(field, value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    if field is not None and getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return formats.date_format(moment, "SHORT_DATETIME_FORMAT")
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return formats.date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT")
        except ValueError:
            return value
    return str(value)


def present(entry: AuditEntry) -> JournalLine:
    model = MODELS.get(entry.target_type)
    changes = []
    for name, pair in (entry.changes or {}).items():
        old, new = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
        field = _field(model, name)
        label = str(field.verbose_name) if field is not None else name
        changes.append(Change(field=label, old=_value(field, old), new=_value(field, new)))
    return JournalLine(
        at=entry.at,
        who=_who(entry),
        what=str(ACTIONS.get(entry.action, entry.action)),
        target=entry.target_label,
        changes=changes,
    )
