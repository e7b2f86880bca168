"""Writes of payment plans (« échéanciers », issue 19 §3): granted by an agent of the régie for
one or several of a family's due invoices, ended by an agent (« annulé », « rompu »), and the
instalments' reminders (due soon, late: flagged to the régie), sent by the periodic command
`send_plan_reminders`.

Payments are never written here: an instalment is paid online, at the counter or by direct
debit through `billing.services.record_payment` on the plan's invoices in order (see
`selectors_plans.instalment_allocations`), and `billing.plans.follow` moves the instalments.

While a plan is « en cours » its invoices get no invoice reminder (services_relances leaves
them out): the family is reminded of its instalments instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.billing import plans
from parvis.billing.delivery import family_emails, with_contacts
from parvis.billing.links import mon_compte_url
from parvis.billing.models import (
    DUE_STATUSES,
    Instalment,
    InstalmentStatus,
    Invoice,
    PaymentPlan,
    PlanChange,
    PlanInvoice,
    PlanStatus,
)
from parvis.billing.pricing import money
from parvis.communes.models import Commune
from parvis.families.models import Famille
from parvis.mail import queue_email
from parvis.money import ZERO

# « Due soon »: the family is reminded this many days before an instalment's date.
SOON_DAYS = 3


def _schedule_lines(instalments) -> str:
    return "\n".join(
        _("- échéance %(position)s : %(amount)s le %(day)s")
        % {
            "position": instalment.position,
            "amount": money(instalment.amount),
            "day": instalment.due_on.strftime("%d/%m/%Y"),
        }
        for instalment in instalments
    )


def _mail(plan: PaymentPlan, famille: Famille, template: str, subject: str, **context) -> bool:
    emails = family_emails(famille)
    if not emails:
        return False
    commune = plan.commune
    queue_email(
        subject=subject,
        body=render_to_string(
            f"billing/emails/{template}.txt",
            {
                "commune": commune,
                "regie": plan.regie,
                "plan": plan,
                "url": mon_compte_url(commune),
                **context,
            },
        ),
        commune_id=commune.pk,
        to=emails,
    )
    return True


@transaction.atomic
def grant_plan(
    *,
    famille: Famille,
    invoices: list[Invoice],
    schedule: list[tuple[date, Decimal]],
    actor: User,
    note: str = "",
    today: date | None = None,
) -> PaymentPlan:
    """Grants the family a plan for `invoices` (its own, of one régie, still due, in no other
    plan en cours) paid in the instalments `schedule` [(date, amount)], whose sum must be
    exactly what the invoices have due, checked on their locked rows. Errors per instalment are
    keyed `montant_<n>` / `date_<n>` (n from 1), the rest `invoices` or the whole."""
    today = today or timezone.localdate()
    if not invoices:
        raise ValidationError({"invoices": _("Cochez au moins une facture.")})
    if not schedule:
        raise ValidationError(_("Un échéancier a au moins une échéance."))
    if len(schedule) > plans.MAX_INSTALMENTS:
        raise ValidationError(
            _("Au plus %(n)d échéances.") % {"n": plans.MAX_INSTALMENTS},
        )
    locked = {
        invoice.pk: invoice
        for invoice in Invoice.objects.select_for_update(of=("self",))
        .filter(pk__in=[invoice.pk for invoice in invoices])
        .select_related("regie", "commune")
        .order_by("pk")
    }
    rows = []
    for invoice in invoices:
        row = locked.get(invoice.pk)
        if row is None or row.famille_id != famille.pk or row.commune_id != famille.commune_id:
            raise ValidationError(
                {"invoices": _("Cette facture n'est pas une facture de la famille.")}
            )
        if row.status not in DUE_STATUSES or row.due_amount <= 0:
            raise ValidationError(
                {"invoices": _("La facture n° %(n)s n'a plus rien à régler.") % {"n": row.number}}
            )
        rows.append(row)
    if len({row.regie_id for row in rows}) > 1:
        raise ValidationError(
            {
                "invoices": _(
                    "Les factures cochées relèvent de régies différentes : un échéancier par régie."
                )
            }
        )
    held = PlanInvoice.objects.filter(invoice__in=rows, held=True).select_related("invoice")
    for link in held:
        raise ValidationError(
            {
                "invoices": _("La facture n° %(n)s fait déjà partie d'un échéancier en cours.")
                % {"n": link.invoice.number}
            }
        )
    rows.sort(key=lambda row: (row.due_on, row.number, row.pk))
    total = sum((row.due_amount for row in rows), ZERO)
    errors = {
        key: [message]
        for key, message in plans.check_schedule(total=total, schedule=schedule).items()
    }
    if schedule[0][0] < today:
        errors.setdefault("date_1", []).append(
            _("La première échéance ne peut pas être passée (au plus tôt aujourd'hui, le %(day)s).")
            % {"day": today.strftime("%d/%m/%Y")}
        )
    if errors:
        raise ValidationError(errors)
    regie = rows[0].regie
    plan = PaymentPlan.objects.create(
        commune_id=famille.commune_id,
        regie=regie,
        famille=famille,
        total=total,
        note=" ".join(note.split())[:300],
        granted_by=actor,
    )
    PlanInvoice.objects.bulk_create(
        PlanInvoice(plan=plan, invoice=row, position=position, amount=row.due_amount)
        for position, row in enumerate(rows)
    )
    instalments = Instalment.objects.bulk_create(
        Instalment(plan=plan, position=position, due_on=day, amount=amount)
        for position, (day, amount) in enumerate(schedule, start=1)
    )
    PlanChange.objects.create(plan=plan, from_status="", to_status=plan.status, actor=actor)
    audit(
        actor=actor,
        action="echeancier.accorde",
        commune=regie.commune,
        target=plan,
        famille_id=famille.pk,
        changes={
            "total": [None, total],
            "count": [None, len(instalments)],
            "invoices": [None, ", ".join(str(row.number) for row in rows)],
            "first_day": [None, schedule[0][0]],
            "last_day": [None, schedule[-1][0]],
        },
    )
    famille = with_contacts(Famille.objects.filter(pk=famille.pk)).get()
    _mail(
        plan,
        famille,
        "echeancier_accorde",
        _("%(commune)s — votre échéancier de paiement") % {"commune": regie.commune.name},
        total=money(total),
        invoices=rows,
        schedule=_schedule_lines(instalments),
    )
    return plan


ENDINGS = {
    PlanStatus.ANNULE: "echeancier.annule",
    PlanStatus.ROMPU: "echeancier.rompu",
}


@transaction.atomic
def end_plan(*, plan: PaymentPlan, to: str, actor: User, reason: str) -> PaymentPlan:
    """An agent ends a plan en cours: « annulé » or « rompu » (the family did not keep it), with
    a reason. Its invoices are then due as invoices again (and reminded as such); what was paid
    stays paid."""
    reason = " ".join((reason or "").split())
    if to not in ENDINGS:
        raise ValidationError({"to": _("Choisissez comment l'échéancier prend fin.")})
    if not reason:
        raise ValidationError({"reason": _("Indiquez le motif.")})
    plan = (
        PaymentPlan.objects.select_for_update(of=("self",))
        .select_related("commune")
        .get(pk=plan.pk)
    )
    before = plan.status
    plans.move_plan(plan, to, actor=actor, reason=reason)
    plan.ended_at = timezone.now()
    plan.end_reason = reason[:300]
    plan.save(update_fields=["status", "ended_at", "end_reason"])
    audit(
        actor=actor,
        action=ENDINGS[to],
        commune=plan.commune,
        target=plan,
        famille_id=plan.famille_id,
        changes={"status": [before, to], "reason": [None, reason]},
    )
    return plan


# --- Instalments' reminders -----------------------------------------------------------------------


@dataclass
class InstalmentReminders:
    late: int = 0  # instalments newly found late (flagged to the régie)
    reminded_late: int = 0  # e-mails about a late instalment
    reminded_soon: int = 0  # e-mails before an instalment's date
    by_post: int = 0  # families without an e-mail address


def remind_instalments(*, today: date, commune: Commune | None = None) -> InstalmentReminders:
    """The daily round of the plans en cours: an instalment whose date has passed unpaid is
    « en retard » (the régie's list flags it) and the family is e-mailed once; an instalment
    due within SOON_DAYS is announced once. One transaction per plan, each plan locked, so two
    runs at once send nothing twice."""
    result = InstalmentReminders()
    candidates = Instalment.objects.filter(
        plan__status=PlanStatus.ACTIF,
        due_on__lte=today + timedelta(days=SOON_DAYS),
    ).exclude(status=InstalmentStatus.PAYEE)
    if commune is not None:
        candidates = candidates.filter(plan__commune=commune)
    plan_ids = sorted(set(candidates.values_list("plan_id", flat=True)))
    for plan_id in plan_ids:
        _remind_plan(plan_id, today=today, result=result)
    return result


@transaction.atomic
def _remind_plan(plan_id: int, *, today: date, result: InstalmentReminders) -> None:
    plan = (
        PaymentPlan.objects.select_for_update(of=("self",))
        .select_related("commune", "regie")
        .filter(pk=plan_id, status=PlanStatus.ACTIF)
        .first()
    )
    if plan is None:
        return
    famille = with_contacts(Famille.objects.filter(pk=plan.famille_id)).get()
    now = timezone.now()
    instalments = list(plan.instalments.exclude(status=InstalmentStatus.PAYEE))
    for instalment in instalments:
        late = instalment.due_on < today
        soon = not late and instalment.due_on <= today + timedelta(days=SOON_DAYS)
        if late and instalment.status == InstalmentStatus.A_PAYER:
            plans.move_instalment(instalment, InstalmentStatus.EN_RETARD, actor=None)
            instalment.save(update_fields=["status"])
            result.late += 1
            audit(
                actor=None,
                action="echeance.en_retard",
                commune=plan.commune,
                target=plan,
                famille_id=plan.famille_id,
                changes={
                    "position": [None, instalment.position],
                    "day": [None, instalment.due_on],
                    "due": [None, instalment.due_amount],
                },
            )
        if late and instalment.reminded_late_at is None:
            sent = _mail(
                plan,
                famille,
                "echeance_retard",
                _("%(commune)s — échéance du %(day)s non réglée")
                % {"commune": plan.commune.name, "day": instalment.due_on.strftime("%d/%m/%Y")},
                instalment=instalment,
                due=money(instalment.due_amount),
            )
            instalment.reminded_late_at = now
            instalment.save(update_fields=["reminded_late_at"])
            result.reminded_late += sent
            result.by_post += not sent
        elif soon and instalment.reminded_soon_at is None:
            sent = _mail(
                plan,
                famille,
                "echeance_rappel",
                _("%(commune)s — rappel : échéance du %(day)s")
                % {"commune": plan.commune.name, "day": instalment.due_on.strftime("%d/%m/%Y")},
                instalment=instalment,
                due=money(instalment.due_amount),
            )
            instalment.reminded_soon_at = now
            instalment.save(update_fields=["reminded_soon_at"])
            result.reminded_soon += sent
            result.by_post += not sent
