"""Writes of SEPA direct debit (issue 19 §1): mandates (signed online with a code e-mailed,
recorded from paper by the régie, revoked, replaced on a change of account, suspended after two
rejects in a row and reviewed), debit batches (prepared with their pain.008 file, transmitted,
settled on their date through billing's single payment path) and rejects.

Each function is one transaction with an audit row; e-mails leave through the queue once it has
committed. Invoices are locked in pk order before any row of payments, as « Payer » and the
bank's notification take them (`billing.services.lock_invoices`): an invoice is never both in a
debit and in a card payment — a batch skips an invoice held by a pending card payment, « Payer »
and the counter refuse an invoice « prélèvement en cours » (billing.services.record_payment),
and a card payment the bank confirms late for such an invoice is a trop-perçu."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction as db
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.billing import selectors_plans
from parvis.billing import services as billing
from parvis.billing.delivery import family_emails
from parvis.billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    LineKind,
    PaymentMethod,
    Regie,
)
from parvis.billing.pricing import money
from parvis.families.models import Famille
from parvis.mail import absolute_url, queue_email
from parvis.money import ZERO
from parvis.payments import selectors_sepa, sepa
from parvis.payments.models import (
    BATCH_TRANSITIONS,
    LIVE_MANDATE_STATUSES,
    MANDATE_TRANSITIONS,
    BatchChange,
    BatchStatus,
    CreditorSettings,
    Debit,
    DebitBatch,
    DebitStatus,
    Mandate,
    MandateChange,
    MandateSource,
    MandateStatus,
    SequenceType,
    TransactionInvoice,
)

CODE_LIFETIME = timedelta(minutes=30)
CODE_ATTEMPTS = 5
REJECTS_BEFORE_SUSPENSION = 2
FEE_DUE_DAYS = 30


# --- Moves ---------------------------------------------------------------------------------------


def _move_mandate(mandate: Mandate, to: str, *, actor: User | None, reason: str = "") -> None:
    if to not in MANDATE_TRANSITIONS[mandate.status]:
        raise ValidationError(
            _("Un mandat « %(from)s » ne peut pas passer à « %(to)s ».")
            % {"from": MandateStatus(mandate.status).label, "to": MandateStatus(to).label}
        )
    MandateChange.objects.create(
        mandate=mandate,
        from_status=mandate.status,
        to_status=to,
        actor=actor if actor is not None and actor.pk else None,
        reason=reason[:300],
    )
    mandate.status = to
    if to in (MandateStatus.REVOQUE, MandateStatus.REMPLACE):
        mandate.ended_at = timezone.now()


def _move_batch(batch: DebitBatch, to: str, *, actor: User | None) -> None:
    if to not in BATCH_TRANSITIONS[batch.status]:
        raise ValidationError(
            _("Un lot « %(from)s » ne peut pas passer à « %(to)s ».")
            % {"from": BatchStatus(batch.status).label, "to": BatchStatus(to).label}
        )
    BatchChange.objects.create(
        batch=batch,
        from_status=batch.status,
        to_status=to,
        actor=actor if actor is not None and actor.pk else None,
    )
    batch.status = to


def _creditor(regie: Regie) -> CreditorSettings:
    creditor = selectors_sepa.creditor_of(regie)
    if creditor is None:
        raise ValidationError(
            _("La régie « %(regie)s » ne propose pas le prélèvement automatique.")
            % {"regie": regie.name}
        )
    return creditor


def _mail(famille: Famille, *, subject: str, template: str, context: dict) -> None:
    queue_email(
        to=family_emails(famille),
        subject=subject,
        body=render_to_string(template, context),
        commune_id=famille.commune_id,
    )


def _mandate_url(mandate: Mandate) -> str:
    return absolute_url(
        reverse("payments:mandat", kwargs={"commune": mandate.commune.slug, "pk": mandate.pk})
    )


# --- Mandates ------------------------------------------------------------------------------------


def _code_hash(mandate: Mandate, code: str) -> str:
    return salted_hmac("parvis.sepa.consent", f"{mandate.pk}:{code}").hexdigest()


def _account(iban: str, bic: str) -> tuple[str, str]:
    """(IBAN, BIC) checked: the BIC typed, else derived from the IBAN; errors per field."""
    errors = {}
    derived = ""
    try:
        iban, derived = sepa.clean_iban(iban)
    except ValidationError as error:
        errors["iban"] = error.messages
    if bic and bic.strip():
        try:
            bic = sepa.clean_bic(bic)
        except ValidationError as error:
            errors["bic"] = error.messages
    else:
        bic = derived
        if not bic and "iban" not in errors:
            errors["bic"] = _("Indiquez le BIC de la banque : il ne se déduit pas de cet IBAN.")
    if errors:
        raise ValidationError(errors)
    return iban, bic


def _holder(holder_name: str) -> str:
    holder = " ".join((holder_name or "").split())[:70]
    if not sepa.latin(holder):
        raise ValidationError({"holder_name": _("Indiquez le nom du titulaire du compte.")})
    return holder


@db.atomic
def start_mandate(
    *,
    famille: Famille,
    regie: Regie,
    user: User,
    holder_name: str,
    iban: str,
    bic: str = "",
    consent: bool,
    ip: str | None,
    user_agent: str = "",
) -> tuple[Mandate, str]:
    """A family asks for a mandate online: its account checked, the SEPA wording agreed, a
    6-digit code e-mailed to the account that asks; the mandate waits for that code
    (`confirm_mandate`). Returns (mandate, code) — the code for tests; it is never shown."""
    if famille.commune_id != regie.commune_id:
        raise ValidationError(_("Cette régie appartient à une autre commune."))
    creditor = _creditor(regie)
    if not creditor.enabled:
        raise ValidationError(_("Cette régie ne propose plus de nouveaux mandats."))
    errors = {}
    try:
        holder = _holder(holder_name)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        iban, bic = _account(iban, bic)
    except ValidationError as error:
        errors.update(error.message_dict)
    if not consent:
        errors["consent"] = _(
            "Cochez la case pour autoriser le prélèvement : sans votre accord, pas de mandat."
        )
    if not (user is not None and user.email):
        errors["__all__"] = _(
            "Votre accord est confirmé par un code envoyé par courriel : indiquez d'abord une "
            "adresse électronique dans votre compte."
        )
    if errors:
        raise ValidationError(errors)
    wording = sepa.mandate_wording(creditor.creditor_name)
    mandate = Mandate.objects.create(
        commune_id=regie.commune_id,
        regie=regie,
        famille=famille,
        holder_name=holder,
        iban=iban,
        bic=bic,
        source=MandateSource.EN_LIGNE,
        created_by=user,
        evidence={
            "asked_at": timezone.now().isoformat(timespec="seconds"),
            "asked_ip": ip or "",
            "asked_user_agent": (user_agent or "")[:300],
            "user_id": user.pk,
            "email": user.email,
            "creditor": creditor.creditor_name,
            "ics": creditor.ics,
            "wording_sha256": hashlib.sha256(wording.encode()).hexdigest(),
            "consent": True,
        },
    )
    MandateChange.objects.create(
        mandate=mandate, from_status="", to_status=mandate.status, actor=user
    )
    code = sepa.new_code()
    mandate.code_hash = _code_hash(mandate, code)
    mandate.code_expires_at = timezone.now() + CODE_LIFETIME
    mandate.save(update_fields=["code_hash", "code_expires_at"])
    queue_email(
        to=user.email,
        subject=_("Votre code pour signer le mandat de prélèvement"),
        body=render_to_string(
            "payments/emails/mandat_code.txt",
            {"code": code, "regie": regie, "minutes": int(CODE_LIFETIME.total_seconds() // 60)},
        ),
        commune_id=regie.commune_id,
    )
    audit(
        actor=user,
        action="mandat.demande",
        commune=regie.commune,
        target=mandate,
        famille_id=famille.pk,
        changes={"regie": [None, regie.name], "holder_name": [None, holder]},
    )
    return mandate, code


@dataclass
class Confirmation:
    mandate: Mandate
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def _replace_live(mandate: Mandate, *, actor: User | None) -> Mandate | None:
    """The family's live mandate for the same régie, « remplacé » by `mandate`."""
    old = (
        Mandate.objects.select_for_update(of=("self",))
        .filter(famille_id=mandate.famille_id, regie_id=mandate.regie_id)
        .filter(status__in=LIVE_MANDATE_STATUSES)
        .exclude(pk=mandate.pk)
        .first()
    )
    if old is not None:
        _move_mandate(old, MandateStatus.REMPLACE, actor=actor, reason=_("Nouveau compte"))
        old.save(update_fields=["status", "ended_at"])
        _withdraw_prepared(old, actor=actor)
    return old


def _activate(
    mandate: Mandate, *, actor: User | None, signed_on: date, rum: str = ""
) -> Mandate | None:
    replaced = _replace_live(mandate, actor=actor)
    _move_mandate(mandate, MandateStatus.ACTIF, actor=actor)
    mandate.rum = rum or sepa.new_rum(mandate.regie.code)
    mandate.signed_on = signed_on
    mandate.signed_at = timezone.now()
    mandate.code_hash = ""
    mandate.save(update_fields=["status", "rum", "signed_on", "signed_at", "code_hash", "evidence"])
    return replaced


def confirm_mandate(
    *, mandate: Mandate, user: User, code: str, ip: str | None, user_agent: str = ""
) -> Confirmation:
    """The family types the e-mailed code: the mandate is signed (RUM given, signature day and
    evidence kept) and replaces the family's previous mandate for that régie (a change of
    account). A wrong or expired code is counted (5 at most) and said, nothing else changes."""
    with db.atomic():
        mandate = (
            Mandate.objects.select_for_update(of=("self",))
            .select_related("regie", "commune", "famille")
            .get(pk=mandate.pk)
        )
        if mandate.status != MandateStatus.EN_ATTENTE:
            return Confirmation(mandate, _("Ce mandat n'attend plus de code."))
        if mandate.code_attempts >= CODE_ATTEMPTS or (
            mandate.code_expires_at is None or mandate.code_expires_at < timezone.now()
        ):
            return Confirmation(
                mandate,
                _("Ce code n'est plus valable : recommencez la signature du mandat."),
            )
        typed = "".join((code or "").split())
        if not constant_time_compare(_code_hash(mandate, typed), mandate.code_hash):
            mandate.code_attempts += 1
            mandate.save(update_fields=["code_attempts"])
            return Confirmation(
                mandate,
                _(
                    "Ce code ne correspond pas à celui envoyé par courriel (essai %(n)s sur "
                    "%(max)s)."
                )
                % {"n": mandate.code_attempts, "max": CODE_ATTEMPTS},
            )
        mandate.evidence = {
            **mandate.evidence,
            "confirmed_at": timezone.now().isoformat(timespec="seconds"),
            "confirmed_ip": ip or "",
            "confirmed_user_agent": (user_agent or "")[:300],
            "code_confirmed": True,
        }
        replaced = _activate(mandate, actor=user, signed_on=timezone.localdate())
        audit(
            actor=user,
            action="mandat.signe",
            commune=mandate.commune,
            target=mandate,
            famille_id=mandate.famille_id,
            changes={
                "status": [MandateStatus.EN_ATTENTE, mandate.status],
                "rum": [None, mandate.rum],
                "iban": [replaced.iban_masked if replaced else None, mandate.iban_masked],
            },
        )
        _mail(
            mandate.famille,
            subject=_("Votre mandat de prélèvement %(rum)s") % {"rum": mandate.rum},
            template="payments/emails/mandat_signe.txt",
            context={"mandate": mandate, "url": _mandate_url(mandate), "replaced": replaced},
        )
    return Confirmation(mandate)


@db.atomic
def record_paper_mandate(
    *,
    regie: Regie,
    famille: Famille,
    actor: User,
    holder_name: str,
    iban: str,
    bic: str = "",
    signed_on: date | None,
    rum: str = "",
) -> Mandate:
    """The régie records a mandate the family signed on paper (kept at the régie): active at
    once, with the RUM printed on it or a new one."""
    if famille.commune_id != regie.commune_id:
        raise ValidationError({"famille": _("Cette famille appartient à une autre commune.")})
    _creditor(regie)
    errors = {}
    try:
        holder = _holder(holder_name)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        iban, bic = _account(iban, bic)
    except ValidationError as error:
        errors.update(error.message_dict)
    today = timezone.localdate()
    if signed_on is None:
        errors["signed_on"] = _("Indiquez la date de signature du mandat.")
    elif signed_on > today:
        errors["signed_on"] = _("La date de signature ne peut pas être dans le futur.")
    rum = sepa.latin(rum, 35).replace(" ", "")
    if rum and Mandate.objects.filter(regie=regie, rum=rum).exists():
        errors["rum"] = _("Un mandat de la régie porte déjà cette référence.")
    if errors:
        raise ValidationError(errors)
    mandate = Mandate.objects.create(
        commune_id=regie.commune_id,
        regie=regie,
        famille=famille,
        holder_name=holder,
        iban=iban,
        bic=bic,
        source=MandateSource.PAPIER,
        created_by=actor,
        evidence={"paper": True, "recorded_by": actor.pk},
    )
    MandateChange.objects.create(
        mandate=mandate, from_status="", to_status=mandate.status, actor=actor
    )
    _activate(mandate, actor=actor, signed_on=signed_on, rum=rum)
    audit(
        actor=actor,
        action="mandat.papier",
        commune=regie.commune,
        target=mandate,
        famille_id=famille.pk,
        changes={
            "rum": [None, mandate.rum],
            "iban": [None, mandate.iban_masked],
            "signed_on": [None, signed_on],
        },
    )
    return mandate


@db.atomic
def revoke_mandate(*, mandate: Mandate, actor: User, reason: str = "") -> Mandate:
    """The family (or the régie, on the family's word) ends a mandate: nothing more is debited
    under it; debits in a batch not yet transmitted are taken out (the invoices due again)."""
    mandate = (
        Mandate.objects.select_for_update(of=("self",))
        .select_related("commune", "famille", "regie")
        .get(pk=mandate.pk)
    )
    if mandate.status not in LIVE_MANDATE_STATUSES:
        raise ValidationError(_("Ce mandat n'est plus en vigueur."))
    before = mandate.status
    _move_mandate(mandate, MandateStatus.REVOQUE, actor=actor, reason=reason)
    mandate.save(update_fields=["status", "ended_at"])
    withdrawn = _withdraw_prepared(mandate, actor=actor)
    audit(
        actor=actor,
        action="mandat.revoque",
        commune=mandate.commune,
        target=mandate,
        famille_id=mandate.famille_id,
        changes={"status": [before, mandate.status], "count": [None, withdrawn]},
    )
    _mail(
        mandate.famille,
        subject=_("Fin de votre mandat de prélèvement %(rum)s") % {"rum": mandate.rum},
        template="payments/emails/mandat_revoque.txt",
        context={"mandate": mandate},
    )
    return mandate


@db.atomic
def reactivate_mandate(*, mandate: Mandate, actor: User) -> Mandate:
    """The régie, having reviewed a mandate suspended after rejects, lets it debit again."""
    mandate = (
        Mandate.objects.select_for_update(of=("self",)).select_related("commune").get(pk=mandate.pk)
    )
    if mandate.status != MandateStatus.SUSPENDU:
        raise ValidationError(_("Seul un mandat suspendu se réactive."))
    _move_mandate(mandate, MandateStatus.ACTIF, actor=actor, reason=_("Revu par la régie"))
    mandate.consecutive_rejects = 0
    mandate.save(update_fields=["status", "consecutive_rejects"])
    audit(
        actor=actor,
        action="mandat.reactive",
        commune=mandate.commune,
        target=mandate,
        famille_id=mandate.famille_id,
        changes={"status": [MandateStatus.SUSPENDU, mandate.status]},
    )
    return mandate


def _withdraw_prepared(mandate: Mandate, *, actor: User | None) -> int:
    """Takes the mandate's debits out of the batches not yet transmitted (their invoices due
    again, each batch's file made anew, or the batch cancelled when nothing is left)."""
    debits = list(
        Debit.objects.filter(
            mandate=mandate, status=DebitStatus.EN_COURS, batch__status=BatchStatus.PREPARE
        ).order_by("invoice_id")
    )
    if not debits:
        return 0
    invoices = billing.lock_invoices([d.invoice_id for d in debits])
    batch_ids = set()
    for debit in debits:
        billing.end_direct_debit(
            invoice=invoices[debit.invoice_id],
            actor=actor,
            reason=_("Mandat %(rum)s terminé avant la transmission du lot") % {"rum": mandate.rum},
        )
        debit.status = DebitStatus.RETIRE
        debit.save(update_fields=["status"])
        batch_ids.add(debit.batch_id)
    for batch in DebitBatch.objects.select_for_update(of=("self",)).filter(pk__in=batch_ids):
        if not batch.debits.filter(status=DebitStatus.EN_COURS).exists():
            _move_batch(batch, BatchStatus.ANNULE, actor=actor)
            batch.count, batch.total = 0, ZERO
            batch.save(update_fields=["status", "count", "total"])
        else:
            _write_file(batch)
    return len(debits)


# --- Batches -------------------------------------------------------------------------------------


def _sequence_types(mandates: set[int]) -> dict[int, str]:
    """FRST for a mandate's first collection (no earlier debit of it transmitted to the bank
    and not rejected), RCUR after."""
    collected = set(
        Debit.objects.filter(
            mandate_id__in=mandates,
            status__in=[DebitStatus.EN_COURS, DebitStatus.PAYE],
            batch__status__in=[BatchStatus.ENVOYE, BatchStatus.REGLE],
        ).values_list("mandate_id", flat=True)
    )
    return {pk: SequenceType.RCUR if pk in collected else SequenceType.FRST for pk in mandates}


def _write_file(batch: DebitBatch) -> None:
    """The batch's pain.008 from its debits under way, validated, with its totals."""
    regie = batch.regie
    creditor = _creditor(regie)
    debits = list(
        Debit.objects.filter(batch=batch, status=DebitStatus.EN_COURS)
        .select_related("mandate", "invoice")
        .order_by("pk")
    )
    lines = [
        sepa.Line(
            end_to_end_id=d.end_to_end_id,
            amount=d.amount,
            sequence_type=d.sequence_type,
            rum=d.mandate.rum,
            signed_on=d.mandate.signed_on,
            debtor_name=d.mandate.holder_name,
            debtor_iban=d.mandate.iban,
            debtor_bic=d.mandate.bic,
            label=_("Facture %(number)s %(regie)s %(label)s")
            % {"number": d.invoice.number, "regie": regie.name, "label": d.invoice.label},
        )
        for d in debits
    ]
    xml = sepa.pain008(
        creditor=sepa.Creditor(
            name=creditor.creditor_name, ics=creditor.ics, iban=creditor.iban, bic=creditor.bic
        ),
        collection_date=batch.collection_date,
        lines=lines,
        message_id=batch.message_id,
    )
    batch.xml = xml.decode()
    batch.count = len(debits)
    batch.total = sum((d.amount for d in debits), ZERO)
    batch.save(update_fields=["xml", "count", "total"])


def _end_to_end(regie: Regie, invoice: Invoice) -> str:
    token = "".join(secrets.choice(sepa.RUM_ALPHABET) for _ in range(8))
    return f"PVS-{sepa.latin(regie.code, 12)}-{invoice.number}-{token}"[:35]


@db.atomic
def prepare_batch(
    *, regie: Regie, collection_date: date | None, actor: User, today: date | None = None
) -> DebitBatch:
    """The régie's batch for `collection_date`: every invoice a mandate pays whose announced
    debit day is not after it, locked and checked again (still « à régler », unpaid, not held
    by a card payment under way), moved to « prélèvement en cours », and the pain.008 file."""
    today = today or timezone.localdate()
    _creditor(regie)
    if collection_date is None:
        raise ValidationError({"collection_date": _("Indiquez la date de prélèvement.")})
    earliest = sepa.earliest_collection(today)
    if collection_date < earliest:
        raise ValidationError(
            {
                "collection_date": _(
                    "La banque doit recevoir le fichier au moins un jour ouvré avant : la date "
                    "de prélèvement est le %(day)s au plus tôt."
                )
                % {"day": earliest.strftime("%d/%m/%Y")}
            }
        )
    # Whole invoices, but not those of a plan en cours: its instalments are debited instead.
    candidates = selectors_sepa.batch_candidates(regie=regie, collection_date=collection_date)
    in_plans = selectors_plans.held_invoice_ids(c.invoice.pk for c in candidates)
    candidates = [c for c in candidates if c.invoice.pk not in in_plans]
    family_mandates = {
        m.famille_id: m.pk
        for m in Mandate.objects.filter(regie=regie, status=MandateStatus.ACTIF).only(
            "pk", "famille_id"
        )
    }
    due = [
        d
        for d in selectors_plans.instalments_due_on(regie.commune, collection_date, regie=regie)
        if d.plan.famille_id in family_mandates
    ]
    plan_invoices = selectors_plans.invoice_ids_of_plans(d.plan.pk for d in due)
    # Locks: every invoice in pk order first (as « Payer » and the bank's notification), then
    # the mandates; what was read above is checked again on the locked rows.
    invoices = billing.lock_invoices(
        [c.invoice.pk for c in candidates] + [pk for pks in plan_invoices.values() for pk in pks]
    )
    held = set(
        TransactionInvoice.objects.filter(invoice__in=list(invoices), pending=True).values_list(
            "invoice_id", flat=True
        )
    )
    mandates = {
        m.pk: m
        for m in Mandate.objects.select_for_update(of=("self",))
        .filter(
            pk__in={c.mandate.pk for c in candidates}
            | {family_mandates[d.plan.famille_id] for d in due}
        )
        .order_by("pk")
    }
    kept = []
    for candidate in candidates:
        invoice = invoices.get(candidate.invoice.pk)
        mandate = mandates.get(candidate.mandate.pk)
        if (
            invoice is None
            or invoice.status != InvoiceStatus.A_REGLER
            or invoice.paid != 0
            or invoice.pk in held
            or mandate is None
            or mandate.status != MandateStatus.ACTIF
        ):
            continue
        kept.append((invoice, mandate, invoice.due_amount))
    whole = len(kept)
    # Instalments: read again now that the plan's invoices are locked (no payment can move
    # them any more), each plan's due amount spread over its invoices in order. A plan with an
    # invoice already in a debit under way, or held by a card payment, waits for it.
    due = [
        d
        for d in selectors_plans.instalments_due_on(regie.commune, collection_date, regie=regie)
        if d.plan.pk in plan_invoices and d.plan.famille_id in family_mandates
    ]
    instalments = ZERO
    for plan_due in due:
        ids = plan_invoices[plan_due.plan.pk]
        mandate = mandates.get(family_mandates[plan_due.plan.famille_id])
        if (
            mandate is None
            or mandate.status != MandateStatus.ACTIF
            or any(pk in held for pk in ids)
            or any(
                invoices[pk].status == InvoiceStatus.PRELEVEMENT_EN_COURS
                for pk in ids
                if pk in invoices
            )
        ):
            continue
        allocations = selectors_plans.instalment_allocations(
            plan_due.plan, plan_due.amount, {pk: invoices[pk] for pk in ids if pk in invoices}
        )
        if sum((share for _, share in allocations), ZERO) != plan_due.amount:
            continue
        kept.extend((invoice, mandate, share) for invoice, share in allocations)
        instalments += plan_due.amount
    if not kept:
        raise ValidationError(
            {
                "collection_date": _(
                    "Aucune facture à prélever au %(day)s : aucune facture d'une famille ayant "
                    "un mandat actif n'est annoncée prélevée à cette date ou avant."
                )
                % {"day": collection_date.strftime("%d/%m/%Y")}
            }
        )
    batch = DebitBatch.objects.create(
        commune_id=regie.commune_id,
        regie=regie,
        collection_date=collection_date,
        created_by=actor,
        message_id="",
    )
    batch.message_id = f"PVS-{sepa.latin(regie.code, 12)}-{batch.pk}-{collection_date:%Y%m%d}"[:35]
    BatchChange.objects.create(batch=batch, from_status="", to_status=batch.status, actor=actor)
    types = _sequence_types({mandate.pk for _, mandate, _ in kept})
    Debit.objects.bulk_create(
        Debit(
            commune_id=regie.commune_id,
            batch=batch,
            invoice=invoice,
            mandate=mandate,
            amount=amount,
            sequence_type=types[mandate.pk],
            end_to_end_id=_end_to_end(regie, invoice),
        )
        for invoice, mandate, amount in kept
    )
    reason = _("Lot de prélèvements du %(day)s") % {"day": collection_date.strftime("%d/%m/%Y")}
    billing.start_direct_debit(
        invoices=[invoice for invoice, _, _ in kept[:whole]], actor=actor, reason=reason
    )
    billing.start_direct_debit(
        invoices=[invoice for invoice, _, _ in kept[whole:]],
        actor=actor,
        reason=reason,
        instalment=True,
    )
    _write_file(batch)
    expected = sum((invoice.total for invoice, _, _ in kept[:whole]), ZERO) + instalments
    if batch.total != expected or batch.count != len(kept):
        raise ValidationError(_("Les totaux du lot ne correspondent pas aux factures."))
    batch.save(update_fields=["message_id"])
    audit(
        actor=actor,
        action="prelevement.lot_prepare",
        commune=regie.commune,
        target=batch,
        changes={
            "collection_date": [None, collection_date],
            "count": [None, batch.count],
            "total": [None, batch.total],
        },
    )
    return batch


def _locked_batch(batch: DebitBatch) -> DebitBatch:
    return (
        DebitBatch.objects.select_for_update(of=("self",))
        .select_related("regie", "commune")
        .get(pk=batch.pk)
    )


@db.atomic
def mark_sent(*, batch: DebitBatch, actor: User) -> DebitBatch:
    """The agent has transmitted the file to the bank."""
    batch = _locked_batch(batch)
    before = batch.status
    _move_batch(batch, BatchStatus.ENVOYE, actor=actor)
    batch.sent_at = timezone.now()
    batch.save(update_fields=["status", "sent_at"])
    audit(
        actor=actor,
        action="prelevement.lot_transmis",
        commune=batch.commune,
        target=batch,
        changes={"status": [before, batch.status]},
    )
    return batch


@db.atomic
def cancel_batch(*, batch: DebitBatch, actor: User) -> DebitBatch:
    """A batch not yet transmitted is dropped: its invoices are « à régler » again."""
    debits = list(Debit.objects.filter(batch=batch, status=DebitStatus.EN_COURS))
    invoices = billing.lock_invoices([d.invoice_id for d in debits])
    batch = _locked_batch(batch)
    before = batch.status
    _move_batch(batch, BatchStatus.ANNULE, actor=actor)
    for debit in debits:
        billing.end_direct_debit(
            invoice=invoices[debit.invoice_id], actor=actor, reason=_("Lot de prélèvements annulé")
        )
    Debit.objects.filter(pk__in=[d.pk for d in debits]).update(status=DebitStatus.RETIRE)
    batch.save(update_fields=["status"])
    audit(
        actor=actor,
        action="prelevement.lot_annule",
        commune=batch.commune,
        target=batch,
        changes={"status": [before, batch.status], "count": [None, len(debits)]},
    )
    return batch


def settle_due_batches(*, today: date, commune=None) -> list[tuple[DebitBatch, int]]:
    """The daily step: each transmitted batch whose date has come is settled, each debit under
    way paid through `billing.services.record_payment` (« Prélèvement automatique », received
    on the collection date). One transaction per batch; running it again does nothing more."""
    rows = DebitBatch.objects.filter(status=BatchStatus.ENVOYE, collection_date__lte=today)
    if commune is not None:
        rows = rows.filter(commune=commune)
    done = []
    for batch in rows.order_by("collection_date", "pk"):
        done.append((batch, settle_batch(batch=batch)))
    return done


@db.atomic
def settle_batch(*, batch: DebitBatch) -> int:
    debits = list(Debit.objects.filter(batch=batch, status=DebitStatus.EN_COURS).order_by("pk"))
    invoices = billing.lock_invoices([d.invoice_id for d in debits])
    batch = _locked_batch(batch)
    if batch.status != BatchStatus.ENVOYE:
        return 0
    debits = list(
        Debit.objects.select_for_update(of=("self",))
        .filter(batch=batch, status=DebitStatus.EN_COURS)
        .select_related("mandate")
        .order_by("pk")
    )
    for debit in debits:
        invoice = invoices[debit.invoice_id]
        payment = billing.record_payment(
            regie=batch.regie,
            famille=invoice.famille,
            allocations=[(invoice, debit.amount)],
            method=PaymentMethod.PRELEVEMENT,
            received_on=batch.collection_date,
            actor=None,
            reference=debit.end_to_end_id,
            payer_name=debit.mandate.holder_name,
        )
        debit.status = DebitStatus.PAYE
        debit.payment = payment
        debit.save(update_fields=["status", "payment"])
    _confirm_previous_debits(batch=batch, mandate_ids={d.mandate_id for d in debits})
    before = batch.status
    _move_batch(batch, BatchStatus.REGLE, actor=None)
    batch.settled_at = timezone.now()
    batch.save(update_fields=["status", "settled_at"])
    audit(
        actor=None,
        action="prelevement.lot_regle",
        commune=batch.commune,
        target=batch,
        changes={"status": [before, batch.status], "count": [None, len(debits)]},
    )
    return len(debits)


# --- Rejects -------------------------------------------------------------------------------------


def _confirm_previous_debits(*, batch, mandate_ids: set[int]) -> None:
    """A mandate's rejects « in a row » end with a debit that stayed paid: the bank's rejects
    come days after the collection, so a settlement cannot clear them; at the next settlement the
    mandate's previous debit, still paid a collection later, is taken as kept (one query, one
    update)."""
    last_date, statuses = {}, {}
    earlier = (
        Debit.objects.filter(mandate_id__in=mandate_ids)
        .exclude(batch=batch)
        .filter(batch__collection_date__lt=batch.collection_date)
        .order_by("mandate_id", "-batch__collection_date")
        .values_list("mandate_id", "batch__collection_date", "status")
    )
    for mandate_id, day, status in earlier:  # the mandate's previous collection, whole
        if last_date.setdefault(mandate_id, day) == day:
            statuses.setdefault(mandate_id, set()).add(status)
    kept = [pk for pk, seen in statuses.items() if seen == {DebitStatus.PAYE}]
    if kept:
        Mandate.objects.filter(pk__in=kept).update(consecutive_rejects=0)


@db.atomic
def record_reject(*, debit: Debit, code: str, rejected_on: date | None, actor: User) -> Debit:
    """The bank returned a debit (an R-transaction) with its reason code: the invoice is due
    again (its payment cancelled when the batch was already settled), the family is told in
    plain words and can pay by card; the régie's rejection fee, if any, is invoiced; after two
    rejects in a row the mandate is suspended for the régie to review."""
    code = (code or "").strip().upper()
    errors = {}
    if code not in sepa.REJECT_REASONS:
        errors["code"] = _("Choisissez le motif du rejet donné par la banque.")
    today = timezone.localdate()
    if rejected_on is None:
        errors["rejected_on"] = _("Indiquez la date du rejet.")
    elif rejected_on > today:
        errors["rejected_on"] = _("La date du rejet ne peut pas être dans le futur.")
    if errors:
        raise ValidationError(errors)
    invoices = billing.lock_invoices([debit.invoice_id])
    debit = (
        Debit.objects.select_for_update(of=("self",))
        .select_related("batch", "batch__regie", "mandate", "payment", "commune")
        .get(pk=debit.pk)
    )
    if debit.status not in (DebitStatus.EN_COURS, DebitStatus.PAYE):
        raise ValidationError(_("Ce prélèvement n'est plus en cours : rien à rejeter."))
    if debit.batch.status not in (BatchStatus.ENVOYE, BatchStatus.REGLE):
        raise ValidationError(_("Ce lot n'a pas été transmis à la banque : annulez-le plutôt."))
    invoice = invoices[debit.invoice_id]
    regie = debit.batch.regie
    reason = _("Prélèvement rejeté : %(reason)s") % {"reason": sepa.reject_label(code)}
    if debit.status == DebitStatus.PAYE:
        billing.cancel_payment(payment=debit.payment, actor=actor, reason=reason)
    else:
        billing.end_direct_debit(invoice=invoice, actor=actor, reason=reason)
    debit.status = DebitStatus.REJETE
    debit.reject_code = code
    debit.rejected_on = rejected_on
    mandate = Mandate.objects.select_for_update(of=("self",)).get(pk=debit.mandate_id)
    mandate.consecutive_rejects += 1
    suspended = False
    if (
        mandate.consecutive_rejects >= REJECTS_BEFORE_SUSPENSION
        and mandate.status == MandateStatus.ACTIF
    ):
        _move_mandate(
            mandate,
            MandateStatus.SUSPENDU,
            actor=actor,
            reason=_("%(n)s prélèvements rejetés de suite") % {"n": mandate.consecutive_rejects},
        )
        suspended = True
    mandate.save(update_fields=["consecutive_rejects", "status"])
    creditor = _creditor(regie)
    if creditor.rejection_fee > 0:
        debit.fee_invoice = _fee_invoice(
            regie=regie, invoice=invoice, fee=creditor.rejection_fee, actor=actor, today=today
        )
    debit.save(update_fields=["status", "reject_code", "rejected_on", "fee_invoice"])
    audit(
        actor=actor,
        action="prelevement.rejete",
        commune=debit.commune,
        target=debit,
        famille_id=invoice.famille_id,
        changes={
            "reject_code": [None, code],
            "amount": [None, debit.amount],
            "invoices": [None, str(invoice.number)],
        },
    )
    if suspended:
        audit(
            actor=actor,
            action="mandat.suspendu",
            commune=debit.commune,
            target=mandate,
            famille_id=mandate.famille_id,
            changes={"status": [MandateStatus.ACTIF, mandate.status]},
        )
    famille = Famille.objects.get(pk=invoice.famille_id)
    _mail(
        famille,
        subject=_("Prélèvement rejeté : facture n° %(number)s à régler")
        % {"number": invoice.number},
        template="payments/emails/prelevement_rejete.txt",
        context={
            "invoice": invoice,
            "amount": money(debit.amount),
            "reason": sepa.REJECT_REASONS[code],
            "fee": money(creditor.rejection_fee) if debit.fee_invoice_id else "",
            "fee_invoice": debit.fee_invoice,
            "suspended": suspended,
            "regie": regie,
            "url": absolute_url(
                reverse(
                    "billing:paiements",
                    kwargs={"commune": debit.commune.slug, "pk": invoice.pk},
                )
            ),
        },
    )
    return debit


def _fee_invoice(*, regie: Regie, invoice: Invoice, fee: Decimal, actor, today: date) -> Invoice:
    label = _("Frais de rejet du prélèvement de la facture n° %(number)s") % {
        "number": invoice.number
    }
    return billing.create_invoice(
        regie=regie,
        famille=invoice.famille,
        kind=InvoiceKind.UNIQUE,
        label=label,
        category=_("FRAIS DE REJET DE PRÉLÈVEMENT"),
        period_start=today,
        period_end=today,
        lines=[
            billing.LineData(
                kind=LineKind.PENALITE, label=label, quantity=1, unit_price=fee, amount=fee
            )
        ],
        issued_on=today,
        due_on=today + timedelta(days=FEE_DUE_DAYS),
        actor=actor,
    )


@dataclass
class ImportResult:
    recorded: list[Debit] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def import_rejects(*, regie: Regie, text: str, actor: User) -> ImportResult:
    """Rejects pasted from the bank's statement, one per line: « référence;code[;JJ/MM/AAAA] »
    (the debit's end-to-end reference, the ISO reason code, the day, today by default). Each
    line is recorded on its own; a wrong line is named and left out."""
    result = ImportResult()
    today = timezone.localdate()
    for number, raw in enumerate((text or "").splitlines()[:1000], start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.replace("\t", ";").replace(",", ";").split(";")]
        if len(parts) < 2:
            result.errors.append(_("Ligne %(n)s : « référence;code » attendu.") % {"n": number})
            continue
        reference, code = parts[0][:35], parts[1]
        day = today
        if len(parts) > 2 and parts[2]:
            try:
                day = date(*reversed([int(x) for x in parts[2].split("/")]))
            except (TypeError, ValueError, OverflowError):  # 01/01/99999999999999999999
                result.errors.append(_("Ligne %(n)s : date illisible.") % {"n": number})
                continue
        found = Debit.objects.filter(
            commune_id=regie.commune_id, batch__regie=regie, end_to_end_id=reference
        ).first()
        if found is None or "\x00" in reference:
            result.errors.append(
                _("Ligne %(n)s : aucun prélèvement de la régie n'a la référence « %(ref)s ».")
                % {"n": number, "ref": reference.replace("\x00", "")}
            )
            continue
        try:
            result.recorded.append(
                record_reject(debit=found, code=code, rejected_on=day, actor=actor)
            )
        except ValidationError as error:
            result.errors.append(
                _("Ligne %(n)s : %(error)s") % {"n": number, "error": " ".join(error.messages)}
            )
    return result
