"""Billing's background tasks: rendering and e-mailing PDFs off the request (a run's invoices,
payment receipts). The work lives in billing.delivery; these wrappers take JSON arguments only.
Receipts go first: a family that has just paid should not wait behind a run of 10,000
invoices."""

from django_tasks import task


@task(priority=0)
def send_invoices(*, invoice_ids: list[int]) -> dict:
    from parvis.billing.delivery import send_invoices

    return send_invoices(invoice_ids=invoice_ids)


@task(priority=10)
def send_receipt(*, payment_id: int) -> bool:
    from parvis.billing.delivery import send_receipt

    return send_receipt(payment_id=payment_id)
