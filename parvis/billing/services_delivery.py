"""Queueing the e-mailing of invoices for the background workers (billing.tasks), which do the
work in billing.delivery. Three modules, one way: services_delivery → tasks → delivery (an
import-linter contract keeps billing's modules free of cycles)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.billing import tasks
from parvis.billing.delivery import _pending
from parvis.billing.models import Invoice, InvoicingRun
from parvis.tasks import enqueue_on_commit

SEND_BATCH = 50  # invoices per background task: a few seconds of one worker's rendering


def queue_invoices(*, invoice_ids: list[int]) -> int:
    """Queues the e-mailing of `invoice_ids` (paperless ones not sent yet) for the background
    workers, in tasks of SEND_BATCH invoices, once the current transaction commits. Returns how
    many were queued."""
    rows = (
        _pending(Invoice.objects.filter(pk__in=invoice_ids))
        .order_by("commune_id", "number")
        .values_list("commune_id", "pk")
    )
    by_commune: dict[int, list[int]] = {}
    for commune_id, pk in rows:
        by_commune.setdefault(commune_id, []).append(pk)
    # Each task for one commune, queued with its id: its queries are the commune's (issue 18 §2).
    for commune_id, ids in by_commune.items():
        for start in range(0, len(ids), SEND_BATCH):
            enqueue_on_commit(
                tasks.send_invoices,
                invoice_ids=ids[start : start + SEND_BATCH],
                commune_id=commune_id,
            )
    return sum(len(ids) for ids in by_commune.values())


@transaction.atomic
def deliver_run(*, run: InvoicingRun, actor: User | None) -> dict:
    """Sends the run's paperless invoices not sent yet, in the background (`queue_invoices`;
    with the immediate backend, before this returns). Safe to ask again while it is under
    way or after a failure: an invoice is never sent twice by it. Returns {"queued": n}. One
    audit row, the agent's request; each task adds its own (« facturation.envoyee »)."""
    queued = queue_invoices(
        invoice_ids=list(_pending(Invoice.objects.filter(run=run)).values_list("pk", flat=True))
    )
    if queued:  # the run's page follows the sending from now on
        InvoicingRun.objects.filter(pk=run.pk).update(sending_requested_at=timezone.now())
    audit(
        actor=actor,
        action="facturation.envoi_demande",
        commune=run.commune,
        target=run,
        changes={"queued": [None, queued]},
    )
    return {"queued": queued}
