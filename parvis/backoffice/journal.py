"""The audit log as people read it: « who, when, what, old → new », in French sentences.

One formatter for the family file's journal at the guichet and the admin's audit log. An entry's
`changes` ({key: [old, new]}) is written by every app in its own words (model field names, codes,
lists of « CODE dd/mm/yyyy », amounts as « 114.87 »); here each key gets its French label and each
value its French reading: choices by their labels, amounts « 114,87 € », dates « 03/12/2026 »,
lists summed up (« 190 réservations ajoutées (du 07/09/2026 au 02/07/2027) »)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from parvis.accounts.models import AuditEntry
from parvis.billing.pricing import money

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
    "procedure.create": gettext_lazy("Démarche créée"),
    "procedure.update": gettext_lazy("Démarche modifiée"),
    "procedure.publish": gettext_lazy("Démarche publiée"),
    "procedure.restore": gettext_lazy("Version de démarche restaurée"),
    "procedure.state": gettext_lazy("Démarche activée ou désactivée"),
    "procedure.share": gettext_lazy("Démarche partagée dans la bibliothèque"),
    "account.update_coordinates": gettext_lazy("Coordonnées du compte modifiées"),
    "account.create": gettext_lazy("Compte créé"),
    "account.confirm_email": gettext_lazy("Adresse électronique confirmée"),
    "account.request_email_change": gettext_lazy("Changement d'adresse électronique demandé"),
    "account.set_password": gettext_lazy("Mot de passe changé"),
    "account.first_login": gettext_lazy("Première connexion"),
    "account.franceconnect_link": gettext_lazy("Compte relié à FranceConnect"),
    "account.delete": gettext_lazy("Compte supprimé"),
    "quotient.record": gettext_lazy("Quotient familial enregistré"),
    "quotient.api_particulier": gettext_lazy("Quotient familial demandé à la CAF ou à la MSA"),
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
    "rgpd.export": gettext_lazy("Export des données personnelles demandé"),
    "rgpd.retention": gettext_lazy("Durées de conservation appliquées"),
    "rgpd.retention_enabled": gettext_lazy("Suppression automatique des données activée"),
    "reservation.basket": gettext_lazy("Réservations modifiées"),
    "reservation.accept": gettext_lazy("Réservation acceptée"),
    "reservation.refuse": gettext_lazy("Réservation refusée"),
    "reservation.offer_accepted": gettext_lazy("Place proposée acceptée"),
    "reservation.offer_declined": gettext_lazy("Place proposée déclinée"),
    "reservation.offer_expired": gettext_lazy("Place proposée expirée"),
    "activite.fermeture": gettext_lazy("Fermeture d'une activité"),
    "activite.places_proposees": gettext_lazy("Places proposées à la liste d'attente"),
    "activite.regles": gettext_lazy("Règles de réservation d'une activité modifiées"),
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
    "facturation.lancee": gettext_lazy("Facturation mensuelle lancée"),
    "facturation.reprise": gettext_lazy("Facturation mensuelle reprise"),
    "facturation.interrompue": gettext_lazy("Facturation mensuelle interrompue"),
    "facturation.avertissements": gettext_lazy("Avertissements de pénalités envoyés"),
    "facturation.envoi_demande": gettext_lazy("Envoi des factures en ligne demandé"),
    "facturation.envoyee": gettext_lazy("Factures envoyées par courriel"),
    "travail.lance": gettext_lazy("Traitement en arrière-plan lancé"),
    "travail.repris": gettext_lazy("Traitement en arrière-plan repris"),
    "paiement.enregistre": gettext_lazy("Paiement enregistré"),
    "paiement.annule": gettext_lazy("Paiement annulé"),
    "paiement_en_ligne.demande": gettext_lazy("Paiement en ligne commencé"),
    "commune.creee": gettext_lazy("Commune créée"),
    "commune.administrateur_cree": gettext_lazy("Administrateur de la commune créé"),
    "account.login_alert": gettext_lazy("Alerte : connexions refusées à un compte d'agent"),
    "paiement_en_ligne.remplace": gettext_lazy("Paiement en ligne remplacé par un nouveau"),
    "trop_percu.constate": gettext_lazy("Trop-perçu constaté"),
    "trop_percu.rembourse": gettext_lazy("Trop-perçu remboursé"),
    "echeancier.accorde": gettext_lazy("Échéancier de paiement accordé"),
    "echeancier.solde": gettext_lazy("Échéancier de paiement soldé"),
    "echeancier.repris": gettext_lazy("Échéancier de paiement de nouveau en cours"),
    "echeancier.annule": gettext_lazy("Échéancier de paiement annulé"),
    "echeancier.rompu": gettext_lazy("Échéancier de paiement rompu"),
    "echeance.en_retard": gettext_lazy("Échéance non réglée à sa date"),
    "mandat.demande": gettext_lazy("Mandat de prélèvement demandé (code envoyé)"),
    "mandat.signe": gettext_lazy("Mandat de prélèvement signé"),
    "mandat.papier": gettext_lazy("Mandat de prélèvement papier enregistré"),
    "mandat.revoque": gettext_lazy("Mandat de prélèvement terminé"),
    "mandat.suspendu": gettext_lazy("Mandat de prélèvement suspendu (rejets)"),
    "mandat.reactive": gettext_lazy("Mandat de prélèvement réactivé"),
    "prelevement.lot_prepare": gettext_lazy("Lot de prélèvements préparé"),
    "prelevement.lot_transmis": gettext_lazy("Lot de prélèvements transmis à la banque"),
    "prelevement.lot_annule": gettext_lazy("Lot de prélèvements annulé"),
    "prelevement.lot_regle": gettext_lazy("Lot de prélèvements réglé"),
    "prelevement.rejete": gettext_lazy("Prélèvement rejeté"),
    "garde_partagee.record": gettext_lazy("Garde partagée enregistrée"),
    "garde_partagee.end": gettext_lazy("Garde partagée terminée"),
}

# The keys `changes` holds that are not a field of the entry's target, in French. A field of the
# target reads as its model's verbose name.
FIELD_LABELS = {
    "absent": gettext_lazy("absents"),
    "accepted": gettext_lazy("place acceptée"),
    "activity": gettext_lazy("activité"),
    "activities": gettext_lazy("activités payées par chaque foyer"),
    "added": gettext_lazy("réservations ajoutées"),
    "amount": gettext_lazy("montant"),
    "certificate": gettext_lazy("certificat médical"),
    "changed": gettext_lazy("enfants pointés autrement"),
    "child": gettext_lazy("enfant"),
    "count": gettext_lazy("nombre"),
    "day": gettext_lazy("jour"),
    "deadline_reminders": gettext_lazy("rappels avant la date limite"),
    "declined": gettext_lazy("place déclinée"),
    "demande": gettext_lazy("demande"),
    "doc_type": gettext_lazy("type de document"),
    "due": gettext_lazy("reste dû"),
    "email": gettext_lazy("adresse électronique"),
    "emailed": gettext_lazy("factures envoyées par courriel"),
    "expired": gettext_lazy("place expirée"),
    "failed_attempts": gettext_lazy("tentatives refusées"),
    "failed": gettext_lazy("envois en échec"),
    "families": gettext_lazy("familles prévenues"),
    "famille": gettext_lazy("famille"),
    "family_code": gettext_lazy("code famille"),
    "feed_created_at": gettext_lazy("lien créé le"),
    "first_day": gettext_lazy("premier jour"),
    "invoice_count": gettext_lazy("nombre de factures"),
    "invoices": gettext_lazy("factures"),
    "justification": gettext_lazy("justification"),
    "justified": gettext_lazy("justifiée"),
    "label": gettext_lazy("nom"),
    "last_day": gettext_lazy("dernier jour"),
    "method": gettext_lazy("mode de paiement"),
    "month": gettext_lazy("mois"),
    "modification": gettext_lazy("modification"),
    "confirmation": gettext_lazy("message de confirmation"),
    "restored": gettext_lazy("version restaurée"),
    "version": gettext_lazy("version publiée"),
    "must_choose_password": gettext_lazy("mot de passe à choisir à la première connexion"),
    "numbers": gettext_lazy("numéros"),
    "items": gettext_lazy("lignes à traiter"),
    "offres": gettext_lazy("places proposées"),
    "payeur": gettext_lazy("payeur des factures"),
    "pending_email": gettext_lazy("nouvelle adresse électronique (à confirmer)"),
    "personne": gettext_lazy("membre du foyer"),
    "present": gettext_lazy("présents"),
    "queued": gettext_lazy("envois demandés"),
    "reason": gettext_lazy("motif"),
    "position": gettext_lazy("échéance n°"),
    "instalment": gettext_lazy("échéancier / échéance"),
    "resultat": gettext_lazy("résultat"),
    "refund_method": gettext_lazy("mode de remboursement"),
    "refund_reference": gettext_lazy("référence du remboursement"),
    "refunded_on": gettext_lazy("remboursé le"),
    "refusal_reason": gettext_lazy("motif du refus"),
    "regie": gettext_lazy("régie"),
    "removed": gettext_lazy("réservations retirées"),
    "replaced_by": gettext_lazy("remplacé par"),
    "revoked_at": gettext_lazy("révoquée le"),
    "seats": gettext_lazy("places"),
    "sent": gettext_lazy("avertissements envoyés"),
    "sent_to": gettext_lazy("envoyée à"),
    "size": gettext_lazy("taille"),
    "source": gettext_lazy("source"),
    "status": gettext_lazy("état"),
    "statut_http": gettext_lazy("réponse d'API Particulier"),
    "to_paper": gettext_lazy("factures à imprimer"),
    "total": gettext_lazy("montant total"),
    "transaction": gettext_lazy("paiement en ligne"),
    "value": gettext_lazy("quotient familial"),
    "waiting": gettext_lazy("en liste d'attente"),
}

# The model an action's codes belong to, by the action's prefix: for a status written on a
# target that has none (an offer's, written on the child) or whose row is gone.
ACTION_MODELS = {
    "demande": ("demarches", "Demande"),
    "procedure": ("demarches", "Procedure"),
    "document": ("families", "Document"),
    "facturation": ("billing", "InvoicingRun"),
    "facture": ("billing", "Invoice"),
    "inscription": ("activities", "Inscription"),
    "paiement": ("billing", "Payment"),
    "paiement_en_ligne": ("payments", "Transaction"),
    "reservation": ("activities", "Reservation"),
    "trop_percu": ("payments", "TropPercu"),
    "echeancier": ("billing", "PaymentPlan"),
    "echeance": ("billing", "PaymentPlan"),
    "mandat": ("payments", "Mandate"),
    "prelevement": ("payments", "DebitBatch"),
}

# Amounts in euros, whatever the target.
MONEY_KEYS = frozenset({"amount", "due", "total", "value"})

# Lists of « CODE dd/mm/yyyy » (a unit and a day), summed up with their count and span.
LIST_PHRASES = {
    "added": lambda n: ngettext(
        "%(count)s réservation ajoutée", "%(count)s réservations ajoutées", n
    ),
    "waiting": lambda n: ngettext(
        "%(count)s demande en liste d'attente", "%(count)s demandes en liste d'attente", n
    ),
    "removed": lambda n: ngettext(
        "%(count)s réservation retirée", "%(count)s réservations retirées", n
    ),
}
LIST_IN_FULL = 3  # up to this many items, each is named

# Who acted when no person did (actor None): the machine, named by what it was doing.
AUTOMATIC = {
    "paiement.enregistre": gettext_lazy("paiement en ligne"),
    "trop_percu.constate": gettext_lazy("paiement en ligne"),
    "echeancier.solde": gettext_lazy("suivi des paiements"),
    "echeancier.repris": gettext_lazy("suivi des paiements"),
    "echeance.en_retard": gettext_lazy("suivi quotidien des échéanciers"),
    "prelevement.lot_regle": gettext_lazy("règlement des prélèvements à leur date"),
    "facture.emise": gettext_lazy("émission automatique"),
    "facturation.lot": gettext_lazy("facturation mensuelle"),
    "facturation.terminee": gettext_lazy("facturation mensuelle"),
    "facturation.interrompue": gettext_lazy("facturation mensuelle"),
    "facturation.envoyee": gettext_lazy("envoi des factures par courriel"),
    "facturation.avertissements": gettext_lazy("envoi automatique des avertissements"),
    "reservation.offer_expired": gettext_lazy("délai de réponse dépassé"),
    "demande.transition": gettext_lazy("traitement automatique"),
}
AUTOMATIC_DEFAULT = gettext_lazy("traitement automatique")

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
_DECIMAL = re.compile(r"^-?\d+\.\d+$")
_BOOKING = re.compile(r"^(?P<code>\S+) (?P<day>\d{2}/\d{2}/\d{4})$")
_CHILD_KEY = re.compile(r"^child:(?P<pk>\d+)(?::(?P<what>booked|late_pickup))?$")


@dataclass(frozen=True)
class Change:
    field: str
    old: str = ""
    new: str = ""
    summary: str = ""  # a list summed up, said whole (« 190 réservations ajoutées (…) »)

    @property
    def text(self) -> str:
        if self.summary:
            return self.summary
        return f"{self.field} : {self.old} → {self.new}"


@dataclass(frozen=True)
class JournalLine:
    at: datetime
    who: str
    what: str
    target: str
    changes: list[Change] = field(default_factory=list)
    automatic: bool = False  # no person acted: `who` names the process

    @property
    def sentence(self) -> str:
        """The whole entry as one line: « Paiement enregistré — Reçu n° 3 — montant : — →
        114,87 € ; … — par Françoise DURAND (famille) »."""
        parts = [self.what]
        if self.target:
            parts.append(self.target)
        if self.changes:
            parts.append(" ; ".join(change.text for change in self.changes))
        parts.append(self.who if self.automatic else _("par %(who)s") % {"who": self.who})
        return " — ".join(parts)


@cache
def _models() -> dict[str, type[models.Model]]:
    # By model name, as `audit` writes `target_type`: every app's targets without a list to
    # keep up to date here.
    return {
        model._meta.model_name: model
        for model in apps.get_models()
        if model.__module__.startswith("parvis.")
    }


def _who(entry) -> tuple[str, bool]:
    """Who acted; a family's own change (from its personal space) says so; no one: the
    process, by what it was doing (« paiement en ligne », « facturation mensuelle »)."""
    if entry.actor_id is None and not entry.actor_label:
        return str(AUTOMATIC.get(entry.action, AUTOMATIC_DEFAULT)), True
    name = entry.actor_label or _("(compte supprimé)")
    if entry.actor is not None and not entry.actor.is_staff:
        return _("%(name)s (famille)") % {"name": name}, False
    return name, False


def _field(model, name):
    """The field `name` of the target's model, else of the action's (`model` is both)."""
    for candidate in model if isinstance(model, tuple) else (model,):
        if candidate is None:
            continue
        try:
            return candidate._meta.get_field(name)
        except FieldDoesNotExist:
            continue
    return None


def _choices_field(model, name):
    found = _field(model, name)
    return found if found is not None and getattr(found, "choices", None) else None


def _label(model, name) -> str:
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    found = _field(model, name)
    if found is not None:
        return str(found.verbose_name)
    return name.replace("_", " ")


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal) or (
        isinstance(value, str) and _DECIMAL.match(value)
    ):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    return None


def _value(model, name, value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    choices = _choices_field(model, name)
    if choices is not None and isinstance(value, str):
        return str(dict(choices.flatchoices).get(value, value))
    if name == "certificate":
        return _("joint")
    if name == "size" and isinstance(value, int):
        return str(filesizeformat(value))
    if name == "demande":
        return _("n° %(number)s") % {"number": value}
    amount = _decimal(value)
    if amount is not None and (
        name in MONEY_KEYS or isinstance(_field(model, name), models.DecimalField)
    ):
        return money(amount)
    if amount is not None and not isinstance(value, int):
        return formats.number_format(amount, use_l10n=True)
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
            day = date.fromisoformat(value)
        except ValueError:
            return value
        return formats.date_format(day, "F Y" if name == "month" else "SHORT_DATE_FORMAT")
    if isinstance(value, list | dict):
        return _summary(name, value if isinstance(value, list) else list(value))
    return str(value)


def _summary(name, items: list) -> str:
    """« 190 réservations ajoutées (REPAS ; du 07/09/2026 au 02/07/2027) », or each item named
    when there are few."""
    phrase = LIST_PHRASES.get(name) or (
        lambda n: ngettext("%(count)s élément", "%(count)s éléments", n)
    )
    text = phrase(len(items)) % {"count": len(items)}
    readings = [str(item) for item in items]
    if len(items) <= LIST_IN_FULL:
        return f"{text} : {', '.join(readings)}"
    bookings = [_BOOKING.match(reading) for reading in readings]
    if not all(bookings):
        return f"{text} : {', '.join(readings[:LIST_IN_FULL])}…"
    days = sorted(datetime.strptime(m["day"], "%d/%m/%Y").date() for m in bookings)
    codes = ", ".join(sorted({m["code"] for m in bookings}))
    span = _("du %(first)s au %(last)s") % {
        "first": formats.date_format(days[0], "SHORT_DATE_FORMAT"),
        "last": formats.date_format(days[-1], "SHORT_DATE_FORMAT"),
    }
    return f"{text} ({codes} ; {span})"


PRESENCE = {"present": gettext_lazy("présent"), "absent": gettext_lazy("absent")}


def _change(model, name, pair, children: dict[int, str]) -> Change | None:
    old, new = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
    child = _CHILD_KEY.match(name)
    if child is not None:
        # A register's line: the child by name, and what changed for them.
        who = children.get(int(child["pk"])) or _("enfant n° %(pk)s") % {"pk": child["pk"]}
        what = {
            "booked": _("%(child)s, réservé"),
            "late_pickup": _("%(child)s, retard le soir"),
        }.get(child["what"], "%(child)s")
        reading = lambda v: str(PRESENCE[v]) if v in PRESENCE else _value(None, "", v)  # noqa: E731
        return Change(field=what % {"child": who}, old=reading(old), new=reading(new))
    label = _label(model, name)
    new = _list(new)
    if isinstance(new, list):
        if not new:
            return None  # « 0 demandes en liste d'attente » says nothing
        return Change(field=label, summary=_summary(name, new))
    old, new = _value(model, name, old), _value(model, name, new)
    if old == new:
        return None  # written alongside a change (« justifiée : oui → oui »): nothing to read
    return Change(field=label, old=old, new=new)


def _list(value):
    """`audit` keeps a list as its Python text (« ['REPAS 07/09/2026', …] »): read it back as
    the list it was, to sum it up."""
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        try:
            found = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return value
        return found if isinstance(found, list) else value
    return value


def _child_ids(entries) -> set[int]:
    return {
        int(found["pk"])
        for entry in entries
        for key in (entry.changes or {})
        if (found := _CHILD_KEY.match(key))
    }


def _children_names(entries) -> dict[int, str]:
    """The children a register's entries name, in one query for all of them."""
    ids = _child_ids(entries)
    if not ids:
        return {}
    personne = apps.get_model("families", "Personne")
    return {
        pk: f"{first} {last}".strip()
        for pk, first, last in personne.objects.filter(pk__in=ids).values_list(
            "pk", "first_names", "last_name"
        )
    }


def present(entry: AuditEntry, *, children: dict[int, str] | None = None) -> JournalLine:
    prefix = ACTION_MODELS.get(entry.action.split(".")[0])
    model = (
        _models().get(entry.target_type),
        apps.get_model(*prefix) if prefix else None,
    )
    if children is None:
        children = _children_names([entry])
    changes = [
        change
        for name, pair in (entry.changes or {}).items()
        if (change := _change(model, name, pair, children)) is not None
    ]
    who, automatic = _who(entry)
    return JournalLine(
        at=entry.at,
        who=who,
        what=str(ACTIONS.get(entry.action, entry.action)),
        target=entry.target_label,
        changes=changes,
        automatic=automatic,
    )


def present_all(entries) -> list[JournalLine]:
    """`present` for a page of entries, at a constant number of queries (select the actor)."""
    entries = list(entries)
    children = _children_names(entries)
    return [present(entry, children=children) for entry in entries]
