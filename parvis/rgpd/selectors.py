"""Reads of the RGPD app, scoped to the commune and to the requester.

`export_entries` gathers everything Parvis holds about an account and the households it is
linked to, kind by kind, each kind in a constant number of queries whatever the household's size
(its bookings, invoices, documents…): the ZIP of « Télécharger mes données » is written from it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import Attempt, AuditEntry, FranceConnectIdentity, User
from parvis.activities.models import (
    Absence,
    AbsenceReason,
    Attendance,
    BookingPreferences,
    BookingStatus,
    CustodyActivity,
    Inscription,
    InscriptionStatus,
    Reservation,
)
from parvis.billing import pdf
from parvis.billing.models import (
    Instalment,
    InstalmentStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PlanStatus,
)
from parvis.communes.models import Commune
from parvis.demarches.models import Demande, DemandeAttachment, DemandeEvent, DemandeMessage
from parvis.demarches.models import Status as DemandeStatus
from parvis.families import selectors_citizen
from parvis.families.models import (
    CustodyRule,
    CustodySide,
    CustodySource,
    Document,
    DocumentStatus,
    DocumentType,
    Famille,
    FamilyAccess,
    QfSource,
    QuotientFamilial,
    SharedCustody,
)
from parvis.payments.models import (
    Mandate,
    MandateSource,
    MandateStatus,
    Transaction,
    TransactionStatus,
)
from parvis.rgpd.models import DataExport, ExportStatus

# --- One export, for its account only -------------------------------------------------------------


def exports_of(*, user: User, commune: Commune) -> list[DataExport]:
    """The account's exports, newest first (the last ten)."""
    return list(DataExport.objects.filter(commune=commune, user=user)[:10])


def downloadable_export(*, user: User, commune: Commune, pk: int | None) -> DataExport | None:
    """The ready export `pk` of this account, while it may still be downloaded."""
    if pk is None:
        return None
    return DataExport.objects.filter(
        pk=pk,
        commune=commune,
        user=user,
        status=ExportStatus.PRETE,
        expires_at__gt=timezone.now(),
    ).first()


# --- Writing values -------------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder)
    return str(value)


def _label(choices, value) -> str:
    """A stored code as the pages say it (« réservée », « réglée »…)."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value or ""


def csv_bytes(headers: list[str], rows: Iterable[Iterable]) -> bytes:
    """A CSV a spreadsheet opens as is: UTF-8 with its mark, « ; » between the columns."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_text(value) for value in row])
    return out.getvalue().encode("utf-8-sig")


def json_bytes(data) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def safe_name(name: str) -> str:
    """A file name kept inside its folder of the ZIP."""
    cleaned = "".join(c if c.isalnum() or c in "-_. " else "_" for c in str(name)).strip(" .")
    return cleaned[:100] or "fichier"


# --- The export, kind by kind ---------------------------------------------------------------------


@dataclass
class Entry:
    """One file of the ZIP: its bytes, or a name in private storage (`stored`)."""

    path: str
    data: bytes = b""
    stored: object = None  # a FieldFile, read when the ZIP is written


def _families(user: User, commune: Commune) -> list[int]:
    return list(
        FamilyAccess.objects.filter(user=user, commune=commune).values_list("famille_id", flat=True)
    )


def _identity(user, commune, families) -> Iterator[Entry]:
    # The account, the households, their members, pick-up people and keys; the audit rows
    # about the account (parvis.families' export, 5 queries).
    data = selectors_citizen.export_data(user=user, commune=commune)
    yield Entry("compte_et_foyers.json", json_bytes(data))


def _franceconnect(user, commune, families) -> Iterator[Entry]:
    # The identity FranceConnect certified for the account (issue 20 §1): the claims stored, never
    # a token (Parvis keeps none: the ID token lives in the session until logout). One query.
    certified = (
        FranceConnectIdentity.objects.filter(commune=commune, user=user)
        .values(
            "sub", "given_name", "family_name", "birthdate", "gender", "birthplace",
            "birthcountry", "linked_at",
        )
        .first()
    )  # fmt: skip
    data = None
    if certified is not None:
        data = {
            "identifiant_franceconnect": certified["sub"],
            "prenoms": certified["given_name"],
            "nom_de_naissance": certified["family_name"],
            "date_de_naissance": certified["birthdate"],
            "sexe": certified["gender"],
            "lieu_de_naissance_code_insee": certified["birthplace"],
            "pays_de_naissance_code_insee": certified["birthcountry"],
            "relie_le": certified["linked_at"],
        }
    yield Entry("identite_franceconnect.json", json_bytes({"identite_franceconnect": data}))


def _custody(user, commune, families) -> Iterator[Entry]:
    # The shared custodies (« garde partagée », families.SharedCustody) of a child of the
    # households, on either side: the rule, its dates and source, and per activity who pays.
    # Of the other household nothing but the child's name (not its number, name, address or
    # people), and not the agent's free note, which may name it. Two queries.
    mine = Q(child__famille_id__in=families) | Q(other_famille_id__in=families)
    custodies = (
        SharedCustody.objects.filter(commune=commune)
        .filter(mine)
        .order_by("since", "pk")
        .values_list(
            "pk", "child__famille_id", "child__famille__number", "other_famille_id",
            "other_famille__number", "child__first_names", "child__last_name", "rule",
            "first_side", "start_week", "percent_foyer", "since", "source", "source_date",
        )
    )  # fmt: skip
    per_activity = {}
    for custody_id, activity, side in (
        CustodyActivity.objects.filter(commune=commune, custody__commune=commune)
        .filter(
            Q(custody__child__famille_id__in=families) | Q(custody__other_famille_id__in=families)
        )
        .order_by("activity__name", "pk")
        .values_list("custody_id", "activity__name", "side")
    ):
        per_activity.setdefault(custody_id, []).append(f"{activity} : {_label(CustodySide, side)}")
    rows = []
    for (
        pk, foyer_id, foyer_number, other_id, other_number, first_names, last_name, rule,
        first_side, start_week, percent, since, source, source_date,
    ) in custodies:  # fmt: skip
        for side, famille_id, number in (
            (CustodySide.FOYER, foyer_id, foyer_number),
            (CustodySide.AUTRE, other_id, other_number),
        ):
            if famille_id not in families:
                continue
            rows.append(
                (
                    number, f"{first_names} {last_name}".strip(), _label(CustodySide, side),
                    _label(CustodyRule, rule), _label(CustodySide, first_side), start_week,
                    percent, " ; ".join(per_activity.get(pk, [])), since,
                    _label(CustodySource, source), source_date,
                )
            )  # fmt: skip
    yield Entry(
        "gardes_partagees.csv",
        csv_bytes(
            [_("famille"), _("enfant"), _("votre foyer"), _("règle de garde"),
             _("foyer de la première semaine"), _("semaine de départ (lundi)"),
             _("part du foyer de l'enfant (%)"), _("foyer qui paie chaque activité"),
             _("applicable à partir du"), _("décidée par"), _("date de la décision")],
            rows,
        ),
    )  # fmt: skip


def _journal(user, commune, families) -> Iterator[Entry]:
    entries = (
        AuditEntry.objects.filter(commune=commune)
        .filter(
            Q(famille_id__in=families)
            | Q(actor=user)
            | Q(target_type=User._meta.model_name, target_id=str(user.pk))
        )
        .order_by("at", "pk")
        .values_list("at", "actor_label", "action", "target_label", "changes")
    )
    headers = [_("date"), _("par"), _("action"), _("objet"), _("modifications")]
    rows = list(entries)
    yield Entry("journal.csv", csv_bytes(headers, rows))
    coordinates = ("account.update_coordinates", "famille.update", "personne.update")
    yield Entry(
        "historique_coordonnees.csv",
        csv_bytes(headers, [row for row in rows if row[2] in coordinates]),
    )


def _quotients(user, commune, families) -> Iterator[Entry]:
    rows = (
        QuotientFamilial.objects.filter(commune=commune, famille_id__in=families)
        .order_by("famille__number", "valid_from", "pk")
        .values_list(
            "famille__number",
            "value",
            "source",
            "valid_from",
            "valid_until",
            "details",
            "created_at",
        )
    )
    yield Entry(
        "quotients_familiaux.csv",
        csv_bytes(
            [
                _("famille"),
                _("quotient (€)"),
                _("source"),
                _("du"),
                _("au"),
                _("calcul"),
                _("enregistré le"),
            ],
            ((n, v, _label(QfSource, s), f, u, d, c) for n, v, s, f, u, d, c in rows),
        ),
    )


def _documents(user, commune, families) -> Iterator[Entry]:
    documents = list(
        Document.objects.filter(commune=commune, famille_id__in=families)
        .select_related("famille", "personne")
        .order_by("uploaded_at", "pk")
    )
    today = timezone.localdate()
    rows = []
    for document in documents:
        path = f"documents/{document.pk}-{safe_name(document.original_name or document.label)}"
        rows.append(
            (
                document.famille.number,
                document.label,
                _label(DocumentType, document.doc_type),
                document.concerns,
                _label(DocumentStatus, document.state(today)),
                document.refusal_reason,
                document.document_date,
                document.valid_until,
                document.uploaded_at,
                document.original_name,
                path,
            )
        )
        yield Entry(path, stored=document.file)
    yield Entry(
        "documents.csv",
        csv_bytes(
            [
                _("famille"),
                _("nom"),
                _("type"),
                _("concerne"),
                _("état"),
                _("motif du refus"),
                _("date du document"),
                _("valable jusqu'au"),
                _("déposé le"),
                _("fichier déposé"),
                _("fichier dans cette archive"),
            ],
            rows,
        ),
    )


def _demandes(user, commune, families) -> Iterator[Entry]:
    demandes = (
        Demande.objects.filter(commune=commune)
        .filter(Q(requester=user) | Q(famille_id__in=families))
        .select_related("procedure")
        .prefetch_related(
            Prefetch("events", queryset=DemandeEvent.objects.order_by("at", "pk")),
            Prefetch("messages", queryset=DemandeMessage.objects.order_by("at", "pk")),
            Prefetch("attachments", queryset=DemandeAttachment.objects.order_by("pk")),
        )
        .order_by("created_at", "pk")
    )
    data = []
    for demande in demandes:
        folder = f"demandes/{safe_name(demande.number or demande.pk)}"
        attachments = []
        for attachment in demande.attachments.all():
            path = f"{folder}/{attachment.pk}-{safe_name(attachment.original_name)}"
            attachments.append({"nom": attachment.original_name, "fichier": path})
            yield Entry(path, stored=attachment.file)
        data.append(
            {
                "numero": demande.number,
                "demarche": demande.procedure.title,
                "etat": _label(DemandeStatus, demande.status),
                "demandeur": demande.contact_name,
                "courriel": demande.contact_email,
                "reponses": demande.answers,
                "creee_le": demande.created_at,
                "deposee_le": demande.submitted_at,
                "close_le": demande.closed_at,
                "historique": [
                    {
                        "le": event.at,
                        "de": _label(DemandeStatus, event.from_status),
                        "vers": _label(DemandeStatus, event.to_status),
                        "par": event.actor_label,
                        "commentaire": event.comment,
                    }
                    for event in demande.events.all()
                ],
                "messages": [
                    {
                        "le": message.at,
                        "de": message.author_label,
                        "du_demandeur": message.from_requester,
                        "texte": message.body,
                    }
                    for message in demande.messages.all()
                ],
                "pieces_jointes": attachments,
            }
        )
    yield Entry("demandes.json", json_bytes(data))


def _activities(user, commune, families) -> Iterator[Entry]:
    inscriptions = (
        Inscription.objects.filter(commune=commune, famille_id__in=families)
        .order_by("created_at", "pk")
        .values_list(
            "child__first_names",
            "child__last_name",
            "activity__name",
            "status",
            "created_at",
            "decided_at",
            "refusal_reason",
        )
    )
    yield Entry(
        "inscriptions.csv",
        csv_bytes(
            [
                _("prénoms"),
                _("nom"),
                _("activité"),
                _("état"),
                _("demandée le"),
                _("décidée le"),
                _("motif du refus"),
            ],
            (
                (f, n, a, _label(InscriptionStatus, s), c, d, r)
                for f, n, a, s, c, d, r in inscriptions
            ),
        ),
    )
    reservations = (
        Reservation.objects.filter(commune=commune, famille_id__in=families)
        .order_by("day", "unit__position", "pk")
        .values_list(
            "day",
            "child__first_names",
            "child__last_name",
            "unit__activity__name",
            "unit__label",
            "unit__code",
            "status",
            "queued_at",
        )
    )
    yield Entry(
        "reservations.csv",
        csv_bytes(
            [
                _("jour"),
                _("prénoms"),
                _("nom"),
                _("activité"),
                _("unité"),
                _("code"),
                _("état"),
                _("demandée le"),
            ],
            (
                (d, f, n, a, u, c, _label(BookingStatus, s), q)
                for d, f, n, a, u, c, s, q in reservations.iterator(chunk_size=2000)
            ),
        ),
    )
    absences = (
        Absence.objects.filter(commune=commune, famille_id__in=families)
        .order_by("first_day", "pk")
        .values_list(
            "child__first_names",
            "child__last_name",
            "first_day",
            "last_day",
            "reason",
            "comment",
            "justified",
            "justification",
            "certificate__label",
            "declared_at",
        )
    )
    yield Entry(
        "absences.csv",
        csv_bytes(
            [
                _("prénoms"),
                _("nom"),
                _("du"),
                _("au"),
                _("motif"),
                _("précision"),
                _("justifiée"),
                _("pourquoi"),
                _("certificat"),
                _("déclarée le"),
            ],
            ((f, n, a, b, _label(AbsenceReason, r), *rest) for f, n, a, b, r, *rest in absences),
        ),
    )
    presences = (
        Attendance.objects.filter(commune=commune, famille_id__in=families)
        .order_by("day", "unit__position", "pk")
        .values_list(
            "day",
            "child__first_names",
            "child__last_name",
            "unit__activity__name",
            "unit__label",
            "present",
            "booked",
            "late_pickup",
        )
    )
    yield Entry(
        "presences.csv",
        csv_bytes(
            [
                _("jour"),
                _("prénoms"),
                _("nom"),
                _("activité"),
                _("unité"),
                _("présent"),
                _("réservé"),
                _("retard"),
            ],
            presences.iterator(chunk_size=2000),
        ),
    )


def _money(user, commune, families) -> Iterator[Entry]:
    invoices = list(
        Invoice.objects.filter(commune=commune, famille_id__in=families)
        .select_related("regie", "famille")
        .order_by("issued_on", "pk")
    )
    pdfs = pdf.invoice_pdfs(invoices) if invoices else {}
    rows = []
    for invoice in invoices:
        # Numbered per régie: its code keeps two régies' numbers apart.
        path = f"factures/{safe_name(invoice.regie.code)}-{safe_name(invoice.number)}.pdf"
        if invoice.pk in pdfs:
            yield Entry(path, pdfs[invoice.pk])
        rows.append(
            (
                invoice.number,
                invoice.famille.number,
                invoice.regie.name,
                invoice.label,
                invoice.period_start,
                invoice.period_end,
                invoice.issued_on,
                invoice.due_on,
                invoice.total,
                invoice.paid,
                _label(InvoiceStatus, invoice.status),
                path if invoice.pk in pdfs else "",
            )
        )
    yield Entry(
        "factures.csv",
        csv_bytes(
            [
                _("numéro"),
                _("famille"),
                _("régie"),
                _("objet"),
                _("du"),
                _("au"),
                _("émise le"),
                _("à régler avant le"),
                _("montant (€)"),
                _("réglé (€)"),
                _("état"),
                _("fichier dans cette archive"),
            ],
            rows,
        ),
    )
    payments = (
        Payment.objects.filter(commune=commune, famille_id__in=families)
        .select_related("regie")
        .prefetch_related("allocations__invoice")
        .order_by("received_on", "pk")
    )
    yield Entry(
        "paiements.csv",
        csv_bytes(
            [
                _("numéro"),
                _("régie"),
                _("moyen"),
                _("montant (€)"),
                _("reçu le"),
                _("payé par"),
                _("référence"),
                _("état"),
                _("factures"),
            ],
            (
                (
                    p.number,
                    p.regie.name,
                    _label(PaymentMethod, p.method),
                    p.amount,
                    p.received_on,
                    p.payer_name,
                    p.reference,
                    _label(PaymentStatus, p.status),
                    ", ".join(
                        f"{a.invoice.number} ({_text(a.amount)} €)" for a in p.allocations.all()
                    ),
                )
                for p in payments
            ),
        ),
    )
    transactions = (
        Transaction.objects.filter(commune=commune)
        .filter(Q(famille_id__in=families) | Q(user=user))
        .order_by("created_at", "pk")
        .values_list("reference", "provider", "amount", "status", "created_at", "notified_at")
    )
    yield Entry(
        "paiements_en_ligne.csv",
        csv_bytes(
            [
                _("référence"),
                _("prestataire"),
                _("montant (€)"),
                _("état"),
                _("commencé le"),
                _("confirmé le"),
            ],
            ((r, p, a, _label(TransactionStatus, s), c, n) for r, p, a, s, c, n in transactions),
        ),
    )


def _mandates_and_plans(user, commune, families) -> Iterator[Entry]:
    mandates = (
        Mandate.objects.filter(commune=commune, famille_id__in=families)
        .order_by("created_at", "pk")
        .values_list(
            "regie__name", "rum", "holder_name", "iban", "bic", "source", "status", "signed_on",
            "signed_at", "evidence", "ended_at",
        )
    )  # fmt: skip
    yield Entry(
        "mandats_prelevement.csv",
        csv_bytes(
            [_("régie"), _("référence unique du mandat (RUM)"), _("titulaire du compte"),
             _("IBAN"), _("BIC"), _("origine"), _("état"), _("signé le"),
             _("signature confirmée le"), _("preuve du consentement"), _("fin du mandat")],
            ((r, rum, h, i, b, _label(MandateSource, so), _label(MandateStatus, st), *rest)
             for r, rum, h, i, b, so, st, *rest in mandates),
        ),
    )  # fmt: skip
    instalments = (
        Instalment.objects.filter(plan__commune=commune, plan__famille_id__in=families)
        .order_by("plan__granted_at", "plan_id", "position")
        .values_list(
            "plan__regie__name", "plan__granted_at", "plan__total", "plan__status", "position",
            "due_on", "amount", "paid", "status",
        )
    )  # fmt: skip
    yield Entry(
        "echeanciers.csv",
        csv_bytes(
            [_("régie"), _("accordé le"), _("montant de l'échéancier (€)"),
             _("état de l'échéancier"), _("échéance"), _("à payer le"), _("montant (€)"),
             _("déjà payé (€)"), _("état de l'échéance")],
            ((r, g, t, _label(PlanStatus, ps), *rest[:4], _label(InstalmentStatus, rest[4]))
             for r, g, t, ps, *rest in instalments),
        ),
    )  # fmt: skip


def _consents(user, commune, families) -> Iterator[Entry]:
    invoices = [
        {"famille": number, "facture_en_ligne": paperless, "depuis": since}
        for number, paperless, since in Famille.objects.filter(
            commune=commune, pk__in=families
        ).values_list("number", "paperless_invoice", "paperless_invoice_since")
    ]
    preferences = (
        BookingPreferences.objects.filter(commune=commune, user=user)
        .values("deadline_reminders", "feed_created_at")
        .first()
    )
    yield Entry(
        "consentements.json",
        json_bytes(
            {
                "facture_en_ligne": invoices,
                "rappels_de_reservation": None
                if preferences is None
                else preferences["deadline_reminders"],
                "agenda_en_ligne_cree_le": None
                if preferences is None
                else preferences["feed_created_at"],
            }
        ),
    )


LOGIN_KINDS = (
    Attempt.Kind.LOGIN,
    Attempt.Kind.CURRENT_PASSWORD,
    Attempt.Kind.PASSWORD_RESET,
    Attempt.Kind.SERVICE_KEY,
)


def _logins(user, commune, families) -> Iterator[Entry]:
    identifiers = {str(user.pk), user.username}
    identifiers |= {value.strip().lower() for value in (user.email, user.family_code) if value}
    identifiers |= {user.family_code} - {""}
    attempts = (
        Attempt.objects.filter(commune=commune, kind__in=LOGIN_KINDS, identifier__in=identifiers)
        .order_by("at", "pk")
        .values_list("at", "kind", "ip", "succeeded", "blocked")
    )
    yield Entry(
        "connexions.csv",
        csv_bytes(
            [_("date"), _("type"), _("adresse IP"), _("réussie"), _("bloquée")],
            ((a, _label(Attempt.Kind, k), ip, s, b) for a, k, ip, s, b in attempts),
        ),
    )


# The kinds, in the order of the archive's « LISEZMOI.txt ».
KINDS = (
    _identity,
    _franceconnect,
    _custody,
    _journal,
    _quotients,
    _documents,
    _demandes,
    _activities,
    _money,
    _mandates_and_plans,
    _consents,
    _logins,
)


def export_entries(*, user: User, commune: Commune) -> Iterator[Entry]:
    """Every file of the account's export (the stored ones named, read by the caller)."""
    if user.commune_id != commune.pk:
        raise PermissionError("not an account of this commune")
    families = _families(user, commune)
    for kind in KINDS:
        yield from kind(user, commune, families)
