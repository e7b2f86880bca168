"""Billing's background tasks: rendering and e-mailing PDFs off the request (a run's invoices,
payment receipts). The work lives in billing.delivery; these wrappers take JSON arguments only
(billing.services_delivery and billing.services queue them). Receipts go first: a family that
has just paid should not wait behind a run of 10,000 invoices.

The invoicing run's own task (`services_runs.issue_run_task`, priority 5: after receipts, before
PDFs) lives next to its work: services_runs imports services_delivery, which imports this module,
and billing's modules form no circle."""

from django_tasks import task

from parvis.billing import delivery
from parvis.communes import tenancy


# Each queued with commune_id= (tenancy.commune_task): its queries are that commune's.
@task(priority=0)
@tenancy.commune_task
def send_invoices(*, invoice_ids: list[int]) -> dict:
    return delivery.send_invoices(invoice_ids=invoice_ids)


@task(priority=10)
@tenancy.commune_task
def send_receipt(*, payment_id: int) -> bool:
    return delivery.send_receipt(payment_id=payment_id)
