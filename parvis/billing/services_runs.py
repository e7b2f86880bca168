"""Issuing invoices: the monthly run of a régie (`issue_run`) and the single invoice of a one-off
stay (`create_stay_invoice`, « CLASSES TRANSPLANTÉES — Séjour CT 3 (Ecole du PARC) »).

The run is idempotent and resumable. Its row is unique per régie and month; the families still
without an invoice for that régie and month are billed chunk by chunk, each chunk in one
transaction that locks the régie's invoice sequence once, drops the families another run
invoiced meanwhile, numbers the chunk's invoices consecutively and bulk-creates them with their
lines and first status. A crash in a chunk rolls that chunk back whole (its numbers with it) and
leaves the chunks before it committed: running again bills only the families still missing, and
the numbers stay 1…N without a gap. The database holds the same line (one monthly invoice per
régie, family and month) whatever the code does.

From the guichet the run is a background task (`start_run` queues `issue_run_task`): the click
records the run and returns at once; the task bills the chunks, each chunk's transaction also
moving the run's progress (families done / total), which the run's page shows. A worker killed
midway leaves the run « en cours » with no progress: after STALE_AFTER the page offers
« Reprendre », which queues the task again; an error is recorded on the run (`error`) and offers
it at once. The task lives here, not in billing.tasks: this module imports services_delivery,
which imports billing.tasks, and billing's modules form no circle.

Delivery (PDF by e-mail, printing) is a separate step: `parvis.billing.delivery`."""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tasks import task

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.billing import invoicing, services_delivery
from parvis.billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    InvoiceStatusChange,
    InvoicingRun,
    InvoicingRunStatus,
    LineKind,
    Regie,
    SequenceKind,
)
from parvis.billing.pricing import MAX_AMOUNT, line_amount, money
from parvis.billing.services import LineData, create_invoice, delivery_for, line_rows, lock_sequence
from parvis.communes import tenancy
from parvis.families.models import Famille, Personne
from parvis.money import CENT, ZERO
from parvis.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

CHUNK_SIZE = 200  # families per transaction: a fraction of a second each
# No progress for that long while « en cours »: the worker died (a chunk takes well under a
# second; a queued run waits behind other tasks at most a few minutes, its priority being high).
STALE_AFTER = timedelta(minutes=5)


def _actor(actor: User | None) -> User | None:
    return actor if actor is not None and actor.pk else None


# --- The monthly run ---------------------------------------------------------------------------


def invoiced_families(*, regie: Regie, month: date) -> set[int]:
    return set(
        Invoice.objects.filter(regie=regie, month=month, kind=InvoiceKind.MENSUELLE).values_list(
            "famille_id", flat=True
        )
    )


def families_left(*, regie: Regie, month: date) -> list[int]:
    """The families the run still has to bill (something to bill, no invoice yet)."""
    done = invoiced_families(regie=regie, month=month)
    return [pk for pk in invoicing.families_to_bill(regie=regie, month=month) if pk not in done]


def _open_run(*, regie: Regie, month: date, actor: User | None) -> InvoicingRun:
    """The régie's run of `month` (its first day, a month over), created if needed: one row per
    régie and month (a unique constraint), so two clicks at once find the same run."""
    if month.day != 1:
        raise ValueError("month is the first day of the month")
    if invoicing.month_bounds(month)[1] >= timezone.localdate():
        raise ValidationError(_("Ce mois n'est pas terminé : on ne facture qu'un mois passé."))
    run, _created = InvoicingRun.objects.get_or_create(
        regie=regie,
        month=month,
        defaults={"commune_id": regie.commune_id, "started_by": _actor(actor)},
    )
    return run


def issue_run(
    *, regie: Regie, month: date, actor: User | None, chunk_size: int = CHUNK_SIZE
) -> InvoicingRun:
    """Bills `month` (its first day) for the régie, here and now (the command, the demo): one
    invoice per family with something to bill and no invoice yet; returns the run, « terminée »
    with its count and total. The guichet queues it instead (`start_run`)."""
    with tenancy.scope(regie.commune_id):
        run = _open_run(regie=regie, month=month, actor=actor)
        return _work(run=run, actor=actor, chunk_size=chunk_size)


def is_running(run: InvoicingRun, *, now=None) -> bool:
    """A task is (or should be) at work on the run: « en cours », no error recorded, some
    progress less than STALE_AFTER ago. Otherwise an unfinished run is to resume."""
    now = now or timezone.now()
    return (
        run.status == InvoicingRunStatus.EN_COURS
        and not run.error
        and run.progress_at is not None
        and now - run.progress_at < STALE_AFTER
    )


@transaction.atomic
def start_run(*, regie: Regie, month: date, actor: User | None) -> tuple[InvoicingRun, bool]:
    """« Émettre les factures » or « Reprendre »: records the run and queues its task once this
    transaction commits. Returns (run, queued). Nothing is queued when a task is at work on it
    (a second click, even at the same moment: the run's row is locked) or when nothing is left
    to bill. Raises ValueError / ValidationError for a month that cannot be billed."""
    run = _open_run(regie=regie, month=month, actor=actor)
    run = InvoicingRun.objects.select_for_update().get(pk=run.pk)
    if is_running(run):
        return run, False
    done = invoiced_families(regie=regie, month=month)
    left = [pk for pk in invoicing.families_to_bill(regie=regie, month=month) if pk not in done]
    if run.status == InvoicingRunStatus.TERMINEE and not left:
        return run, False
    before = (run.status, error_message(run))
    run.status, run.error, run.progress_at = InvoicingRunStatus.EN_COURS, "", timezone.now()
    run.families_done, run.families_total = len(done), len(done) + len(left)
    run.save(update_fields=["status", "error", "progress_at", "families_done", "families_total"])
    audit(
        actor=actor,
        action="facturation.lancee" if not done else "facturation.reprise",
        commune=regie.commune,
        target=run,
        changes={
            "status": [before[0], run.status],
            "families_total": [None, run.families_total],
            "families_done": [None, run.families_done],
            **({"error": [before[1], ""]} if before[1] else {}),
        },
    )
    enqueue_on_commit(
        issue_run_task,
        run_id=run.pk,
        actor_id=_actor(actor) and actor.pk,
        commune_id=run.commune_id,
    )
    return run, True


@task(priority=5)
@tenancy.commune_task
def issue_run_task(*, run_id: int, actor_id: int | None) -> dict:
    """The background task of a run (queued by `start_run`): after receipts (10), before a
    run's PDFs (0). A missing tariff stops it, recorded on the run for the agent; any other
    error too, and the task fails (logged, the operator sees it)."""
    run = InvoicingRun.objects.select_related("regie__commune").filter(pk=run_id).first()
    if run is None:
        return {"invoices": 0}
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    try:
        run = _work(run=run, actor=actor, chunk_size=CHUNK_SIZE)
    except invoicing.MissingTariff:
        return {"invoices": Invoice.objects.filter(run_id=run_id).count(), "stopped": True}
    return {"invoices": run.invoice_count, "total": str(run.total)}


def _work(*, run: InvoicingRun, actor: User | None, chunk_size: int) -> InvoicingRun:
    """Bills the families of the run still without an invoice, chunk by chunk; an error is
    recorded on the run (`_interrupt`) and raised again. Its queries are the commune's
    (tenancy.scope: each says commune_id, issue 18 §2)."""
    with tenancy.scope(run.commune_id):
        return _work_in_scope(run=run, actor=actor, chunk_size=chunk_size)


def _work_in_scope(*, run: InvoicingRun, actor: User | None, chunk_size: int) -> InvoicingRun:
    regie, month = run.regie, run.month
    try:
        done = invoiced_families(regie=regie, month=month)
        left = [pk for pk in invoicing.families_to_bill(regie=regie, month=month) if pk not in done]
        InvoicingRun.objects.filter(pk=run.pk).update(
            families_done=len(done), families_total=len(done) + len(left),
            progress_at=timezone.now(), error="",
        )  # fmt: skip
        today = timezone.localdate()
        for chunk in invoicing.batched(left, chunk_size):
            _bill_chunk(run=run, famille_ids=chunk, actor=actor, today=today)
        return _finish(run=run, actor=actor)
    except Exception as error:
        _interrupt(run=run, actor=actor, error=error)
        raise


def _interrupt(*, run: InvoicingRun, actor: User | None, error: Exception) -> None:
    """Records why the run stopped (its chunks before stay billed): the page says it, in its
    reader's language (`error_message`), and offers « Reprendre ». Stored as a code and its
    values, never as a sentence of the language the worker happened to run in."""
    if isinstance(error, invoicing.MissingTariff):
        stored = {
            "code": "missing_tariff",
            "params": {
                "unit": error.unit.label,
                "activity": error.unit.activity.name,
                "day": error.day.strftime("%d/%m/%Y"),
            },
        }
    else:
        logger.exception("Invoicing run %s stopped", run.pk)
        stored = {"code": "technical", "params": {}}
    run.error = json.dumps(stored, ensure_ascii=False)
    with transaction.atomic():
        InvoicingRun.objects.filter(pk=run.pk).update(error=run.error, progress_at=timezone.now())
        audit(
            actor=actor,
            action="facturation.interrompue",
            commune=run.regie.commune,
            target=run,
            # The journal's words: the message as it reads in the portal's language.
            changes={"error": ["", error_message(run)]},
        )


# Why a run stopped, by the code `_interrupt` stores (read in the reader's language).
RUN_ERRORS = {
    "missing_tariff": gettext_lazy(
        "L'unité « %(unit)s » de l'activité « %(activity)s » n'a pas de tarif en vigueur "
        "le %(day)s : ajoutez son tarif dans l'administration avant de facturer."
    ),
    "technical": gettext_lazy(
        "Une erreur technique a arrêté la facturation. Reprenez-la ; si l'erreur revient, "
        "prévenez l'exploitant."
    ),
}


def error_message(run: InvoicingRun) -> str:
    """The run's stored error in the active language; « » when none. A run stopped before the
    error became a code keeps its sentence as it was written."""
    if not run.error:
        return ""
    try:
        stored = json.loads(run.error)
        template = RUN_ERRORS[stored["code"]]
        params = stored.get("params") or {}
    except (ValueError, KeyError, TypeError):
        return run.error
    try:
        return str(template) % params if params else str(template)
    except (KeyError, TypeError, ValueError):
        return str(RUN_ERRORS["technical"])


def _bill_chunk(*, run: InvoicingRun, famille_ids: list[int], actor: User | None, today: date):
    """Computes and issues the invoices of a chunk of families; its progress moves with them."""
    bills = invoicing.compute_month(regie=run.regie, month=run.month, famille_ids=famille_ids)
    return _issue_chunk(run=run, bills=bills, actor=actor, today=today, families=len(famille_ids))


@transaction.atomic
def _issue_chunk(
    *,
    run: InvoicingRun,
    bills: list[invoicing.FamilyBill],
    actor: User | None,
    today: date,
    families: int = 0,
) -> int:
    regie = run.regie
    # The lock first: two runs of the régie (or a single invoice) wait for each other here, so
    # the families invoiced meanwhile are seen below and the numbers follow each other.
    sequence = lock_sequence(regie=regie, kind=SequenceKind.FACTURE)
    # The progress moves with the chunk's invoices, or not at all (one UPDATE).
    InvoicingRun.objects.filter(pk=run.pk).update(
        families_done=F("families_done") + families, progress_at=timezone.now()
    )
    done = set(
        Invoice.objects.filter(
            regie=regie,
            month=run.month,
            kind=InvoiceKind.MENSUELLE,
            famille_id__in=[bill.famille_id for bill in bills],
        ).values_list("famille_id", flat=True)
    )
    bills = [bill for bill in bills if bill.famille_id not in done and bill.lines]
    if not bills:
        return 0
    first_number = sequence.last_number + 1
    first_day, last_day = invoicing.month_bounds(run.month)
    common = {
        "commune_id": regie.commune_id,
        "regie": regie,
        "run": run,
        "kind": InvoiceKind.MENSUELLE,
        "month": run.month,
        "category": invoicing.invoice_category(regie),
        "label": invoicing.invoice_label(run.month),
        "period_start": first_day,
        "period_end": last_day,
        "issued_on": today,
        "due_on": today + timedelta(days=invoicing.DUE_DAYS),
    }
    invoices = [
        Invoice(
            famille=bill.famille,
            number=first_number + index,
            total=bill.total,
            status=InvoiceStatus.REGLEE if bill.total == 0 else InvoiceStatus.A_REGLER,
            delivery=delivery_for(bill.famille),
            **common,
        )
        for index, bill in enumerate(bills)
    ]
    sequence.last_number += len(invoices)
    sequence.save(update_fields=["last_number"])
    Invoice.objects.bulk_create(invoices)
    lines = []
    for invoice, bill in zip(invoices, bills, strict=True):
        lines += line_rows(invoice, bill.lines)
    _insert_lines(lines)
    recorder = _actor(actor)
    InvoiceStatusChange.objects.bulk_create(
        InvoiceStatusChange(
            invoice=invoice, from_status="", to_status=invoice.status, actor=recorder
        )
        for invoice in invoices
    )
    total = sum((invoice.total for invoice in invoices), ZERO)
    audit(
        actor=actor,
        action="facturation.lot",
        commune=regie.commune,
        target=run,
        changes={
            "invoices": [None, len(invoices)],
            "numbers": [None, f"{first_number}–{sequence.last_number}"],
            "total": [None, total],
        },
    )
    return len(invoices)


LINE_COLUMNS = [
    "commune_id", "invoice_id", "position", "kind", "child_id", "child_name", "unit_id", "label",
    "quantity", "unit_price", "amount", "price_label", "explanation", "days", "childcare",
]  # fmt: skip


def _insert_lines(lines: list[InvoiceLine]) -> None:
    """Saves the chunk's lines: on PostgreSQL with COPY (the lines are most of what a run
    writes: ten times faster than INSERTs), elsewhere with bulk_create."""
    if connection.vendor != "postgresql":
        InvoiceLine.objects.bulk_create(lines, batch_size=1000)
        return
    table = connection.ops.quote_name(InvoiceLine._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in LINE_COLUMNS)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for line in lines:
            copy.write_row(
                [
                    json.dumps(line.days) if column == "days" else getattr(line, column)
                    for column in LINE_COLUMNS
                ]
            )


@transaction.atomic
def _finish(*, run: InvoicingRun, actor: User | None) -> InvoicingRun:
    run = InvoicingRun.objects.select_for_update().get(pk=run.pk)
    totals = Invoice.objects.filter(run=run).aggregate(count=Count("pk"), total=Sum("total"))
    count, total = totals["count"], totals["total"] or ZERO
    before = (run.status, run.invoice_count, run.total)
    run.invoice_count, run.total = count, total
    run.families_done, run.progress_at = run.families_total, timezone.now()
    if run.status != InvoicingRunStatus.TERMINEE:
        run.status = InvoicingRunStatus.TERMINEE
        run.finished_at = timezone.now()
    run.save(
        update_fields=[
            "status", "finished_at", "invoice_count", "total", "families_done", "progress_at",
        ]
    )  # fmt: skip
    if before != (run.status, run.invoice_count, run.total):
        audit(
            actor=actor,
            action="facturation.terminee",
            commune=run.regie.commune,
            target=run,
            changes={
                "status": [before[0], run.status],
                "invoice_count": [before[1], count],
                "total": [before[2], total],
            },
        )
    return run


# --- Single invoices ---------------------------------------------------------------------------


def create_stay_invoice(
    *,
    regie: Regie,
    famille: Famille,
    category: str,
    label: str,
    child: Personne | None,
    period_start: date,
    period_end: date,
    quantity: int,
    unit_price: Decimal,
    actor: User | None,
) -> Invoice:
    """A single invoice (« facture unique ») for a one-off stay, one « séjour » line of
    quantity × unit price: « CLASSES TRANSPLANTÉES », « Séjour CT 3 (Ecole du PARC) »."""
    label = (label or "").strip()
    category = (category or "").strip().upper()
    errors = {}
    if not label:
        errors["label"] = _("Indiquez le libellé de la facture.")
    if period_end < period_start:
        errors["period_end"] = _("La fin du séjour est avant son début.")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        errors["quantity"] = _("La quantité est un nombre entier, 1 au moins.")
    if (
        not isinstance(unit_price, Decimal)
        or not unit_price.is_finite()
        or unit_price < 0
        or unit_price != unit_price.quantize(CENT)
    ):
        errors["unit_price"] = _("Un prix en euros et centimes, 0 ou plus.")
    elif "quantity" not in errors and quantity * unit_price > MAX_AMOUNT:
        errors["unit_price"] = _("Le montant de la facture dépasserait %(max)s.") % {
            "max": money(MAX_AMOUNT)
        }
    if child is not None and child.famille_id != famille.pk:
        errors["child"] = _("Cet enfant n'est pas de cette famille.")
    if errors:
        raise ValidationError(errors)
    amount = line_amount(quantity, unit_price)
    name = invoicing.child_name(child.first_names, child.last_name) if child else ""
    today = timezone.localdate()
    line = LineData(
        kind=LineKind.SEJOUR,
        label=(f"{label} — {name}" if name else label)[:200],
        quantity=quantity,
        unit_price=unit_price,
        amount=amount,
        child_id=child.pk if child else None,
        child_name=name,
        explanation=_("%(quantity)s × %(price)s")
        % {"quantity": quantity, "price": money(unit_price)},
    )
    invoice = create_invoice(
        regie=regie,
        famille=famille,
        kind=InvoiceKind.UNIQUE,
        label=label,
        category=category,
        period_start=period_start,
        period_end=period_end,
        lines=[line],
        issued_on=today,
        due_on=today + timedelta(days=invoicing.DUE_DAYS),
        actor=actor,
    )
    # A stay is billed outside any run: a paperless family gets it by e-mail at once.
    services_delivery.queue_invoices(invoice_ids=[invoice.pk])
    return invoice
